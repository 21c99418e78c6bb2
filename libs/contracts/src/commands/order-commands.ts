import { z } from 'zod';
import {
  currencySchema,
  identifierSchema,
  lineInputSchema,
  MAX_LINES_PER_ORDER,
  moneySchema,
  orderIdSchema,
} from '../order-values';

/** Bodies of the command API (REST and RabbitMQ alike). Unknown fields are refused. */
export const placeOrderBody = z
  .strictObject({
    orderId: orderIdSchema.optional(),
    customerId: identifierSchema,
    currency: currencySchema,
    items: z.array(lineInputSchema).max(MAX_LINES_PER_ORDER).optional(),
  })
  .superRefine((body, ctx) => {
    const seen = new Set<string>();
    body.items?.forEach((line, index) => {
      if (seen.has(line.sku)) {
        ctx.addIssue({
          code: 'custom',
          path: ['items', index, 'sku'],
          message: 'duplicate sku',
        });
      }
      seen.add(line.sku);
    });
  });
export type PlaceOrderBody = z.infer<typeof placeOrderBody>;

export const addItemBody = lineInputSchema;
export type AddItemBody = z.infer<typeof addItemBody>;

export const payOrderBody = z.strictObject({
  paymentId: identifierSchema,
  amount: moneySchema,
});
export type PayOrderBody = z.infer<typeof payOrderBody>;

export const shipOrderBody = z.strictObject({
  carrier: z.string().min(1).max(64),
  trackingNumber: z.string().min(1).max(64),
});
export type ShipOrderBody = z.infer<typeof shipOrderBody>;

export const cancelOrderBody = z.strictObject({
  reason: z.string().min(1).max(500),
});
export type CancelOrderBody = z.infer<typeof cancelOrderBody>;

/** What every successful command answers. */
export interface CommandResult {
  orderId: string;
  version: number;
  consistencyToken: string;
}

/** Request/reply patterns on the `orders.commands` queue. */
export const commandPatterns = {
  place: 'order.place',
  addItem: 'order.add-item',
  removeItem: 'order.remove-item',
  confirm: 'order.confirm',
  pay: 'order.pay',
  ship: 'order.ship',
  cancel: 'order.cancel',
} as const;

/** `payment.succeeded` on `payments.events`, consumed by the command service. */
export const paymentSucceededMessage = z.strictObject({
  orderId: orderIdSchema,
  paymentId: identifierSchema,
  amount: moneySchema,
});
export type PaymentSucceededMessage = z.infer<typeof paymentSucceededMessage>;
