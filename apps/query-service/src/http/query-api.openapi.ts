import {
  currencySchema,
  identifierSchema,
  orderEventTypes,
  orderIdSchema,
  orderLineSchema,
  orderStatusSchema,
} from '@orders/contracts';
import {
  ORDER_SCOPES,
  type ApiDescription,
  type OperationDoc,
  type ParameterDoc,
} from '@orders/platform';
import { z } from 'zod';

const instant = z.iso.datetime({ offset: true });
const day = z.iso.date();

const orderSummary = z.object({
  orderId: orderIdSchema,
  customerId: identifierSchema,
  status: orderStatusSchema,
  currency: currencySchema,
  itemCount: z.int().min(0),
  total: z.int().min(0),
  placedAt: instant,
  confirmedAt: instant.optional(),
  updatedAt: instant,
  version: z.int().min(1),
});

const orderView = orderSummary.extend({
  items: z.array(orderLineSchema),
  payment: z.object({ paymentId: identifierSchema, amount: z.int(), paidAt: instant }).optional(),
  shipment: z
    .object({ carrier: z.string(), trackingNumber: z.string(), shippedAt: instant })
    .optional(),
  cancellation: z
    .object({ reason: z.string(), cancelledAt: instant, previousStatus: orderStatusSchema })
    .optional(),
});

const historyEntry = z.object({
  version: z.int().min(1),
  type: z.enum(orderEventTypes),
  occurredAt: instant,
  data: z.record(z.string(), z.unknown()).describe("the event's data, as in the event feed"),
  correlationId: z.string(),
});

const productStatsRow = z.object({
  sku: identifierSchema,
  currency: currencySchema,
  unitsSold: z.int().min(0),
  revenue: z.int(),
  orders: z.int().min(0),
});

const dailyStatsRow = z.object({
  date: day,
  ordersPlaced: z.int().min(0),
  ordersConfirmed: z.int().min(0),
  ordersCancelled: z.int().min(0),
  revenue: z.int(),
});

/** Read-your-writes (§5) holds on every query route. */
const consistencyHeaders: ParameterDoc[] = [
  {
    name: 'X-Consistency-Token',
    in: 'header',
    description: 'from a command answer: wait until the data reflects that write',
    schema: z.string(),
  },
  {
    name: 'X-Consistency-Timeout-Ms',
    in: 'header',
    description: 'how long to wait for it (default 3000, at most 10000); past it, 503',
    schema: z.int().min(0).max(10_000),
  },
];

const query = (name: string, schema: z.ZodType, description?: string): ParameterDoc => ({
  name,
  in: 'query',
  schema,
  ...(description && { description }),
});

interface ResponseShape {
  description: string;
  schema: z.ZodType;
  headers?: Record<string, string>;
}

function read(
  summary: string,
  parameters: ParameterDoc[],
  answer: ResponseShape,
  problems: number[] = [400, 503],
): OperationDoc {
  return {
    summary,
    parameters: [...parameters, ...consistencyHeaders],
    responses: { 200: answer },
    problems,
  };
}
const orderId: ParameterDoc = { name: 'id', in: 'path', schema: orderIdSchema };

/** The query API of contract §5 (the admin routes are listed as Nest maps them, undescribed). */
export const queryApi: ApiDescription = {
  title: 'Orders query service',
  description:
    'Read models of orders (contract §5). Errors are application/problem+json with a stable `code`.',
  version: '1',
  defaultScope: ORDER_SCOPES.read,
  operations: {
    'GET /orders/{id}': read(
      'One order, now or as it was',
      [
        orderId,
        query('atVersion', z.int().min(1), 'the order as it was at this version'),
        query('asOf', instant, 'the order as it was at this instant'),
        {
          name: 'If-None-Match',
          in: 'header',
          description: 'the ETag of a copy you hold: 304 if unchanged',
          schema: z.string(),
        },
      ],
      { description: 'The order', schema: orderView, headers: { ETag: '`"<version>"`' } },
      [400, 404, 503],
    ),
    'GET /orders/{id}/history': read(
      "An order's events, oldest first",
      [orderId],
      { description: 'The history', schema: z.array(historyEntry) },
      [400, 404, 503],
    ),
    'GET /orders': read(
      'Orders, newest first, a page at a time',
      [
        query('customerId', identifierSchema),
        query('status', orderStatusSchema),
        query('placedFrom', z.union([instant, day]), 'inclusive; a day means its start (UTC)'),
        query('placedTo', z.union([instant, day]), 'inclusive; a day means its end (UTC)'),
        query('limit', z.int().min(1).max(100), 'default 20'),
        query('cursor', z.string(), '`nextCursor` of the previous page, with the same filters'),
      ],
      {
        description: 'A page of orders',
        schema: z.object({ items: z.array(orderSummary), nextCursor: z.string().nullable() }),
      },
    ),
    'GET /stats/products': read(
      'Best-selling products',
      [
        query('currency', currencySchema),
        query('sortBy', z.enum(['revenue', 'unitsSold']), 'default revenue'),
        query('limit', z.int().min(1).max(100), 'default 10'),
      ],
      { description: 'One row per sku and currency', schema: z.array(productStatsRow) },
    ),
    'GET /stats/daily': read(
      'Orders and revenue per UTC day',
      [
        { ...query('currency', currencySchema), required: true },
        { ...query('from', day), required: true },
        {
          ...query('to', day, 'from <= to; at most 366 days in all, from included'),
          required: true,
        },
      ],
      { description: 'One row per day, zeros included', schema: z.array(dailyStatsRow) },
    ),
  },
};
