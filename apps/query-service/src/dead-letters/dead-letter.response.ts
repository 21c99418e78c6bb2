import type { DeadLetterDocument } from './dead-letter.document';

/** One dead letter as `GET /admin/dead-letters` lists it. */
export interface DeadLetterSummaryResponse {
  id: string;
  messageId: string | null;
  eventType: string | null;
  orderId: string | null;
  version: number | null;
  exchange: string;
  routingKey: string;
  reason: string;
  queue: string;
  deathCount: number;
  firstDeathAt: string | null;
  storedAt: string;
  replays: number;
  diagnosis: string;
}

/** `GET /admin/dead-letters/{id}`: the summary plus what would be replayed. */
export interface DeadLetterDetailResponse extends DeadLetterSummaryResponse {
  /** The body as UTF-8 text when it is valid UTF-8, else base64 (`bodyEncoding`). */
  body: string;
  bodyEncoding: 'utf8' | 'base64';
  properties: unknown;
}

export function toDeadLetterSummary(doc: DeadLetterDocument): DeadLetterSummaryResponse {
  return {
    id: doc._id,
    messageId: doc.messageId,
    eventType: doc.eventType,
    orderId: doc.orderId,
    version: doc.version,
    exchange: doc.exchange,
    routingKey: doc.routingKey,
    reason: doc.reason,
    queue: doc.queue,
    deathCount: doc.deathCount,
    firstDeathAt: doc.firstDeathAt?.toISOString() ?? null,
    storedAt: doc.storedAt.toISOString(),
    replays: doc.replays,
    diagnosis: doc.diagnosis,
  };
}

export function toDeadLetterDetail(doc: DeadLetterDocument): DeadLetterDetailResponse {
  const bytes = Buffer.from(doc.body.buffer);
  const text = bytes.toString('utf8');
  const isUtf8 = Buffer.from(text, 'utf8').equals(bytes);
  return {
    ...toDeadLetterSummary(doc),
    body: isUtf8 ? text : bytes.toString('base64'),
    bodyEncoding: isUtf8 ? 'utf8' : 'base64',
    properties: JSON.parse(doc.properties) as unknown,
  };
}
