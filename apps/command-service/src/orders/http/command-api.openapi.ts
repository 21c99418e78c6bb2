import {
  addItemBody,
  cancelOrderBody,
  identifierSchema,
  orderEventSchemas,
  orderIdSchema,
  payOrderBody,
  placeOrderBody,
  shipOrderBody,
} from '@orders/contracts';
import {
  ORDER_SCOPES,
  type ApiDescription,
  type OperationDoc,
  type ParameterDoc,
} from '@orders/platform';
import { z } from 'zod';

const commandResult = z.object({
  orderId: orderIdSchema,
  version: z.int().min(1).describe("the order's version after the command"),
  consistencyToken: z
    .string()
    .describe('opaque; send it as X-Consistency-Token to the query service to read this write'),
});

const eventEnvelope = z.object({
  eventId: z.uuid(),
  type: z.enum(Object.keys(orderEventSchemas) as [string, ...string[]]),
  schemaVersion: z.int().min(1),
  orderId: orderIdSchema,
  version: z.int().min(1),
  position: z
    .string()
    .regex(/^[0-9]{1,20}$/)
    .describe('global commit position, decimal'),
  occurredAt: z.iso.datetime({ offset: true }),
  correlationId: z.string(),
  causationId: z.string(),
  data: z.union(Object.values(orderEventSchemas).map((schema) => schema.data)),
});

const eventsPage = z.object({
  events: z.array(eventEnvelope),
  lastPosition: z.string().describe('position of the last event, or `after` for an empty page'),
});

const orderIdParameter: ParameterDoc = { name: 'id', in: 'path', schema: orderIdSchema };

const commandHeaders: ParameterDoc[] = [
  {
    name: 'If-Match',
    in: 'header',
    description: '`"<version>"`: run only if the order is at this version, else 412',
    schema: z.string().regex(/^(W\/)?"\d{1,9}"$/),
  },
  {
    name: 'Idempotency-Key',
    in: 'header',
    description:
      'a repeat with the same key and request answers the first answer again ' +
      '(`Idempotent-Replayed: true`); the same key with another request is 422',
    schema: z.string().regex(/^[\x21-\x7e]{1,128}$/),
  },
  {
    name: 'X-Correlation-Id',
    in: 'header',
    description: 'carried by the events and log lines; defaults to the request id',
    schema: z.string().max(200),
  },
  {
    name: 'X-Request-Id',
    in: 'header',
    description: 'echoed; becomes the causation id of the events (made up when absent)',
    schema: z.string().max(200),
  },
];

/** Errors every command can answer, whatever its body (contract §3). */
const COMMAND_PROBLEMS = [400, 404, 409, 412, 413, 415, 422];

function command(
  summary: string,
  status: 200 | 201,
  body: z.ZodType | undefined,
  extra: { parameters?: ParameterDoc[]; description?: string } = {},
): OperationDoc {
  return {
    summary,
    ...(extra.description && { description: extra.description }),
    parameters: [...(extra.parameters ?? [orderIdParameter]), ...commandHeaders],
    ...(body && { requestBody: body }),
    responses: {
      [status]: {
        description: status === 201 ? 'Order placed' : 'Command applied',
        schema: commandResult,
        headers: {
          ETag: '`"<version>"` of the order after the command',
          ...(status === 201 && { Location: '`/orders/{orderId}`' }),
          'Idempotent-Replayed': '`true` when this is the recorded answer to an earlier request',
        },
      },
    },
    problems: COMMAND_PROBLEMS,
  };
}

const noBody = 'Takes no body, or an empty JSON object.';

/** The command API of contract §3. */
export const commandApi: ApiDescription = {
  title: 'Orders command service',
  description:
    'Commands on orders (contract §3). Errors are application/problem+json with a stable `code`.',
  version: '1',
  defaultScope: ORDER_SCOPES.write,
  operations: {
    'POST /orders': command('Place an order', 201, placeOrderBody, { parameters: [] }),
    'POST /orders/{id}/items': command('Add a line (or units to a line)', 200, addItemBody),
    'DELETE /orders/{id}/items/{sku}': command('Remove a line', 200, undefined, {
      parameters: [orderIdParameter, { name: 'sku', in: 'path', schema: identifierSchema }],
      description: noBody,
    }),
    'POST /orders/{id}/confirm': command('Confirm a draft order', 200, undefined, {
      description: noBody,
    }),
    'POST /orders/{id}/pay': command('Record the payment', 200, payOrderBody),
    'POST /orders/{id}/ship': command('Ship a paid order', 200, shipOrderBody),
    'POST /orders/{id}/cancel': command('Cancel an order', 200, cancelOrderBody),
    'GET /events': {
      summary: 'Read the event feed in commit order',
      description: 'The catch-up feed for rebuilding read models and for other services.',
      scope: ORDER_SCOPES.read,
      parameters: [
        {
          name: 'after',
          in: 'query',
          description: 'position to read after (default 0)',
          schema: z.string().regex(/^(0|[1-9][0-9]{0,18})$/),
        },
        {
          name: 'limit',
          in: 'query',
          description: 'default 100',
          schema: z.int().min(1).max(1000),
        },
      ],
      responses: { 200: { description: 'A page of events', schema: eventsPage } },
      problems: [400],
    },
  },
};
