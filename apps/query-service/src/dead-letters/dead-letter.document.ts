import type { Binary } from 'mongodb';

/**
 * A message the projection gave up on, as the operator's view keeps it (collection
 * `dead_letters`, not part of any read-model generation). Stored before the dead-letter queue
 * delivery is acked, removed only after a replay was confirmed by the broker.
 */
export interface DeadLetterDocument {
  /** Stable per dead-lettering: hash of message id, replay count and body. */
  _id: string;
  messageId: string | null;
  eventType: string | null;
  orderId: string | null;
  version: number | null;
  /** Where it was first published: exchange and routing key. */
  exchange: string;
  routingKey: string;
  /** `x-first-death-reason`: `rejected` (refused as invalid) or `delivery_limit` (retries used up). */
  reason: string;
  /** The queue it died in. */
  queue: string;
  deathCount: number;
  firstDeathAt: Date | null;
  storedAt: Date;
  /** How often an operator has replayed this message before. */
  replays: number;
  /** Why the projection could not apply it, as far as the message itself tells. */
  diagnosis: string;
  body: Binary;
  /** The AMQP properties to republish with (JSON; headers may hold any AMQP value). */
  properties: string;
}

export const DEAD_LETTERS_COLLECTION = 'dead_letters';
