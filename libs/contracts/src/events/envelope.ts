import { z } from 'zod';
import { orderIdSchema } from '../order-values';
import { isOrderEventType, orderEventSchemas, type OrderEvent } from './order-events';

const envelopeShape = z.strictObject({
  eventId: z.uuid(),
  type: z.string().min(1).max(100),
  schemaVersion: z.int().min(1),
  orderId: orderIdSchema,
  /** The order's version after this event: 1, 2, 3, ... without gaps. */
  version: z.int().min(1),
  /** Global commit position, a decimal string (it can exceed 2^53). */
  position: z.string().regex(/^[0-9]{1,20}$/),
  occurredAt: z.iso.datetime({ offset: true }),
  correlationId: z.string().min(1).max(200),
  causationId: z.string().min(1).max(200),
  data: z.unknown(),
});

/** The body of every message on `orders.events` and every item of `GET /events`. */
export type EventEnvelope = Omit<z.infer<typeof envelopeShape>, 'type' | 'data'> & OrderEvent;

export type EnvelopeParseResult =
  { ok: true; envelope: EventEnvelope } | { ok: false; reason: string };

/**
 * Validates an envelope and its data against the schema of its type and version.
 * Messages are untrusted input: anything that does not match is refused with a reason.
 */
export function parseEventEnvelope(input: unknown): EnvelopeParseResult {
  const shape = envelopeShape.safeParse(input);
  if (!shape.success) return { ok: false, reason: z.prettifyError(shape.error) };
  const { type, schemaVersion, data } = shape.data;
  if (!isOrderEventType(type)) return { ok: false, reason: `unknown event type ${type}` };
  const schema = orderEventSchemas[type];
  if (schemaVersion !== schema.schemaVersion) {
    return {
      ok: false,
      reason: `${type} schema version ${schemaVersion} is not supported`,
    };
  }
  const parsed = schema.data.safeParse(data);
  if (!parsed.success) return { ok: false, reason: z.prettifyError(parsed.error) };
  return {
    ok: true,
    envelope: { ...shape.data, type, data: parsed.data } as EventEnvelope,
  };
}
