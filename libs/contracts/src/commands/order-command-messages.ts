import { z } from 'zod';
import { identifierSchema, orderIdSchema } from '../order-values';
import { commandPatterns, type CommandResult } from './order-commands';
import type { ProblemDetails } from '../problem';

/** Where command messages that cannot be answered, or keep failing, wait for an operator. */
export const ORDERS_COMMANDS_DEAD_LETTER_QUEUE = 'orders.commands.dead-letter';

/** A pattern of `commandPatterns`, carried in the AMQP `type` property of a command message. */
export type OrderCommandPattern = (typeof commandPatterns)[keyof typeof commandPatterns];

const orderCommandPatterns = new Set<string>(Object.values(commandPatterns));

export function isOrderCommandPattern(value: unknown): value is OrderCommandPattern {
  return typeof value === 'string' && orderCommandPatterns.has(value);
}

/**
 * The body of a command message on `orders.commands` (request/reply). The AMQP message
 * names the command in `type` (`order.place`, ...), where to answer in `reply-to` and
 * its `correlation-id`; `body` is what the REST API takes as the request body.
 * `orderId` names the order for every command but `order.place`, whose optional order id
 * is `body.orderId` as in REST. `idempotencyKey` and `expectedVersion` are the
 * `Idempotency-Key` and `If-Match` of REST; a key is shared with REST, so the same key and
 * request over either way in gets the first answer again. Without a key, the AMQP message-id
 * keys the command (`amqp-message-id:<id>`), so a redelivered message is answered, not run
 * again.
 */
export const orderCommandMessage = z.strictObject({
  orderId: orderIdSchema.optional(),
  idempotencyKey: z
    .string()
    .regex(/^[\x21-\x7e]{1,128}$/, 'must be 1 to 128 visible ASCII characters')
    .optional(),
  expectedVersion: z.int().min(0).max(999_999_999).optional(),
  correlationId: z
    .string()
    .regex(/^[\x21-\x7e]{1,200}$/, 'must be 1 to 200 visible ASCII characters')
    .optional(),
  body: z.unknown().optional(),
});
export type OrderCommandMessage = z.infer<typeof orderCommandMessage>;

/** `order.remove-item` names its line in the body (REST has it in the path). */
export const removeItemMessageBody = z.strictObject({ sku: identifierSchema });
export type RemoveItemMessageBody = z.infer<typeof removeItemMessageBody>;

const problemDetailsSchema = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.int(),
  code: z.string(),
  detail: z.string().optional(),
  instance: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

/**
 * The reply to a command message: the REST success body, or the REST problem (same status
 * and code). A reply that repeats an earlier answer carries the AMQP header
 * `idempotent-replayed: true`.
 */
export const orderCommandReply = z.discriminatedUnion('ok', [
  z.strictObject({
    ok: z.literal(true),
    result: z.strictObject({
      orderId: orderIdSchema,
      version: z.int().min(1),
      consistencyToken: z.string().min(1),
    }),
  }),
  z.strictObject({ ok: z.literal(false), problem: problemDetailsSchema }),
]);
export type OrderCommandReply =
  { ok: true; result: CommandResult } | { ok: false; problem: ProblemDetails };

export const IDEMPOTENT_REPLAYED_HEADER = 'idempotent-replayed';
