import { parseEventEnvelope } from '@orders/contracts';
import type { ConsumeMessage, MessageProperties, Options } from 'amqplib';
import { Binary } from 'mongodb';
import { createHash } from 'node:crypto';
import type { DeadLetterDocument } from './dead-letter.document';

/** Counts replays, so a message that dies again is stored again instead of merged with its past. */
export const REPLAY_COUNT_HEADER = 'x-replay-count';

/** Headers the broker sets while dead-lettering or redelivering; a replay starts without them. */
const BROKER_HEADERS = /^x-(death|first-death-.*|last-death-.*|delivery-count)$/;

/** Builds the stored form of a message taken from the dead-letter queue. */
export function deadLetterOf(message: ConsumeMessage, storedAt: Date): DeadLetterDocument {
  const { properties, content } = message;
  const headers = properties.headers ?? {};
  const firstDeath = firstDeathOf(headers);
  const replays = wholeNumber(headers[REPLAY_COUNT_HEADER]) ?? 0;
  const messageId = typeof properties.messageId === 'string' ? properties.messageId : null;
  const parsed = describeBody(content);
  const reason = text(headers['x-first-death-reason']) ?? firstDeath?.reason ?? 'unknown';
  return {
    _id: createHash('sha256')
      .update(`${messageId ?? ''}\n${replays}\n`)
      .update(content)
      .digest('hex')
      .slice(0, 32),
    messageId,
    eventType: parsed.type ?? text(properties.type),
    orderId: parsed.orderId,
    version: parsed.version,
    exchange:
      text(headers['x-first-death-exchange']) ?? firstDeath?.exchange ?? message.fields.exchange,
    routingKey: firstDeath?.routingKey ?? message.fields.routingKey,
    reason,
    queue: text(headers['x-first-death-queue']) ?? firstDeath?.queue ?? '',
    deathCount: firstDeath?.count ?? 1,
    firstDeathAt: firstDeath?.time ?? null,
    storedAt,
    replays,
    diagnosis: parsed.problem ?? diagnosisOf(reason),
    body: new Binary(content),
    properties: encodeProperties(properties, replays),
  };
}

/** The properties to republish with: the original ones, minus what the broker added. */
export function replayPropertiesOf(doc: DeadLetterDocument): Options.Publish {
  const properties = JSON.parse(doc.properties, reviveBuffers) as Options.Publish;
  return { ...properties, persistent: true };
}

function encodeProperties(properties: MessageProperties, replays: number): string {
  const headers = Object.fromEntries(
    Object.entries(properties.headers ?? {}).filter(([name]) => !BROKER_HEADERS.test(name)),
  );
  headers[REPLAY_COUNT_HEADER] = replays + 1;
  // user-id is checked against the replaying connection, and an expired message would only die again.
  const kept: Options.Publish = {
    contentType: properties.contentType as string | undefined,
    contentEncoding: properties.contentEncoding as string | undefined,
    headers,
    priority: properties.priority as number | undefined,
    correlationId: properties.correlationId as string | undefined,
    replyTo: properties.replyTo as string | undefined,
    messageId: properties.messageId as string | undefined,
    timestamp: properties.timestamp as number | undefined,
    type: properties.type as string | undefined,
    appId: properties.appId as string | undefined,
  };
  return JSON.stringify(
    Object.fromEntries(Object.entries(kept).filter(([, value]) => value !== undefined)),
  );
}

function reviveBuffers(_key: string, value: unknown): unknown {
  if (
    typeof value === 'object' &&
    value !== null &&
    (value as { type?: unknown }).type === 'Buffer' &&
    Array.isArray((value as { data?: unknown }).data)
  ) {
    return Buffer.from((value as { data: number[] }).data);
  }
  return value;
}

interface FirstDeath {
  reason: string | null;
  queue: string | null;
  exchange: string | null;
  routingKey: string | null;
  count: number;
  time: Date | null;
}

/** The oldest entry of `x-death` (RabbitMQ puts the most recent first). */
function firstDeathOf(headers: Record<string, unknown>): FirstDeath | null {
  const deaths = headers['x-death'];
  if (!Array.isArray(deaths) || deaths.length === 0) return null;
  const death = deaths.at(-1) as Record<string, unknown>;
  const routingKeys = death['routing-keys'];
  const time = death.time as { value?: unknown } | undefined;
  const seconds = wholeNumber(time?.value);
  return {
    reason: text(death.reason),
    queue: text(death.queue),
    exchange: text(death.exchange),
    routingKey: Array.isArray(routingKeys) ? text(routingKeys[0]) : null,
    count: wholeNumber(death.count) ?? 1,
    time: seconds === null ? null : new Date(seconds * 1000),
  };
}

function describeBody(content: Buffer): {
  type: string | null;
  orderId: string | null;
  version: number | null;
  problem: string | null;
} {
  let body: unknown;
  try {
    body = JSON.parse(content.toString('utf8'));
  } catch {
    return { type: null, orderId: null, version: null, problem: 'body is not JSON' };
  }
  const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const parsed = parseEventEnvelope(body);
  return {
    type: text(fields.type),
    orderId: text(fields.orderId)?.slice(0, 100) ?? null,
    version: wholeNumber(fields.version),
    problem: parsed.ok ? null : `not a valid event envelope: ${parsed.reason.slice(0, 500)}`,
  };
}

function diagnosisOf(reason: string): string {
  switch (reason) {
    case 'delivery_limit':
      return 'redelivered until the delivery limit: an earlier version of the order never arrived, or applying it kept failing';
    case 'rejected':
      return 'refused by the projection: the event cannot follow the order as the read model holds it';
    default:
      return `dead-lettered by the broker (${reason})`;
  }
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

function wholeNumber(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null;
}
