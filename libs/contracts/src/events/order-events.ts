import { z } from 'zod';
import {
  currencySchema,
  identifierSchema,
  moneySchema,
  orderLineSchema,
  orderStatusSchema,
  quantitySchema,
  unitPriceSchema,
} from '../order-values';

/*
 * Every event carries what a consumer needs without calling back: running totals after the
 * event, and the lines wherever a consumer's counters depend on them.
 */

/** OrderPlaced as first published, without running totals. Kept to read old events. */
export const orderPlacedV1 = z.strictObject({
  customerId: identifierSchema,
  currency: currencySchema,
  items: z.array(orderLineSchema).max(100),
});

/** v2 adds `itemCount` and `total`, so consumers need not add up the lines. */
export const orderPlacedV2 = orderPlacedV1.extend({
  itemCount: z.int().min(0),
  total: moneySchema,
});

export const orderItemAddedV1 = z.strictObject({
  sku: identifierSchema,
  /** Units this event added. */
  quantity: quantitySchema,
  unitPrice: unitPriceSchema,
  /** The line after the event. */
  line: orderLineSchema,
  itemCount: z.int().min(0),
  total: moneySchema,
});

export const orderItemRemovedV1 = z.strictObject({
  /** The line that was removed, as it was. */
  line: orderLineSchema,
  itemCount: z.int().min(0),
  total: moneySchema,
});

export const orderConfirmedV1 = z.strictObject({
  customerId: identifierSchema,
  currency: currencySchema,
  items: z.array(orderLineSchema).min(1).max(100),
  itemCount: z.int().min(1),
  total: moneySchema,
});

export const orderPaidV1 = z.strictObject({
  paymentId: identifierSchema,
  amount: moneySchema,
  currency: currencySchema,
});

export const orderShippedV1 = z.strictObject({
  carrier: z.string().min(1).max(64),
  trackingNumber: z.string().min(1).max(64),
});

export const orderCancelledV1 = z.strictObject({
  reason: z.string().min(1).max(500),
  previousStatus: orderStatusSchema.exclude(['cancelled', 'shipped']),
  currency: currencySchema,
  /** The lines and total the order held when it was cancelled. */
  items: z.array(orderLineSchema).max(100),
  total: moneySchema,
});

/**
 * The current schema of each event type: what producers write and consumers read. Changing a
 * published event means a new schemaVersion here and an upcaster in the command service's
 * event store for the stored older versions (docs/event-evolution.md).
 */
export const orderEventSchemas = {
  OrderPlaced: { schemaVersion: 2, data: orderPlacedV2 },
  OrderItemAdded: { schemaVersion: 1, data: orderItemAddedV1 },
  OrderItemRemoved: { schemaVersion: 1, data: orderItemRemovedV1 },
  OrderConfirmed: { schemaVersion: 1, data: orderConfirmedV1 },
  OrderPaid: { schemaVersion: 1, data: orderPaidV1 },
  OrderShipped: { schemaVersion: 1, data: orderShippedV1 },
  OrderCancelled: { schemaVersion: 1, data: orderCancelledV1 },
} as const;

export type OrderEventType = keyof typeof orderEventSchemas;
export const orderEventTypes = Object.keys(orderEventSchemas) as OrderEventType[];

type DataOf<T extends OrderEventType> = z.infer<(typeof orderEventSchemas)[T]['data']>;

/** A domain event as the decider produces it: type and data, before it is stored. */
export type OrderEvent = {
  [T in OrderEventType]: { type: T; data: DataOf<T> };
}[OrderEventType];
export type OrderEventOf<T extends OrderEventType> = Extract<OrderEvent, { type: T }>;

export function isOrderEventType(type: string): type is OrderEventType {
  return Object.hasOwn(orderEventSchemas, type);
}
