import { Injectable } from '@nestjs/common';
import { orderEventSchemas, type EventEnvelope, type OrderEvent } from '@orders/contracts';
import { DataSource, type EntityManager } from 'typeorm';
import { upcastEvent } from './upcasters';

/** Events one transaction may write; positions of a transaction are `txid * SLOTS + index`. */
export const POSITION_SLOTS_PER_TRANSACTION = 10_000;

export interface EventMetadata {
  correlationId: string;
  causationId: string;
  traceparent?: string | undefined;
}

export interface OrderStream {
  events: OrderEvent[];
  version: number;
  /** Position of the stream's last event, or null for a stream with no events. */
  lastPosition: bigint | null;
}

/** Another writer appended to the stream first: decide again on the new state. */
export class StreamVersionConflict extends Error {
  constructor(
    readonly orderId: string,
    readonly expectedVersion: number,
  ) {
    super(`order ${orderId} is no longer at version ${expectedVersion}`);
    this.name = 'StreamVersionConflict';
  }
}

/** An event as stored: its envelope and the trace context it was written under. */
export interface StoredEvent {
  envelope: EventEnvelope;
  traceparent: string | null;
}

interface EventRow {
  position: string;
  event_id: string;
  order_id: string;
  version: number;
  type: string;
  schema_version: number;
  data: unknown;
  correlation_id: string;
  causation_id: string;
  traceparent: string | null;
  occurred_at: Date;
}

const EVENT_COLUMNS = `position::text, event_id, order_id, version, type, schema_version, data,
  correlation_id, causation_id, traceparent, occurred_at`;

/**
 * Order events in PostgreSQL, one row per event.
 *
 * Positions come from the writing transaction's id (`pg_current_xact_id()`), not a sequence,
 * so that position order is the order in which transactions can become visible: a reader that
 * only takes positions below the oldest running transaction (`pg_snapshot_xmin`) can never see
 * a smaller position appear later. A sequence hands out numbers before commit, and a plain
 * `WHERE position > last` then skips events whose transaction commits late.
 */
@Injectable()
export class OrderEventStore {
  constructor(private readonly dataSource: DataSource) {}

  /** The stream's events after `afterVersion` (a snapshot's version, or 0 for all). */
  async readStream(orderId: string, afterVersion = 0): Promise<OrderStream> {
    const rows: EventRow[] = await this.dataSource.query(
      `SELECT ${EVENT_COLUMNS} FROM order_events
        WHERE order_id = $1 AND version > $2 ORDER BY version`,
      [orderId, afterVersion],
    );
    const last = rows.at(-1);
    return {
      events: rows.map((row) => toEnvelope(row)),
      version: last?.version ?? afterVersion,
      lastPosition: last ? BigInt(last.position) : null,
    };
  }

  /**
   * Appends events after `stream.version` inside the caller's transaction.
   * Throws StreamVersionConflict when another writer got there first.
   */
  async appendToStream(
    manager: EntityManager,
    orderId: string,
    stream: Pick<OrderStream, 'version' | 'lastPosition'>,
    events: readonly OrderEvent[],
    metadata: EventMetadata,
  ): Promise<EventEnvelope[]> {
    if (events.length === 0) return [];
    let rows: EventRow[];
    try {
      rows = await manager.query(
        `INSERT INTO order_events (position, event_id, order_id, version, type, schema_version,
           data, correlation_id, causation_id, traceparent, occurred_at)
         SELECT pg_current_xact_id()::text::bigint * ${POSITION_SLOTS_PER_TRANSACTION} + e.ord,
                gen_random_uuid(), $1, $2 + e.ord, e.type, e.schema_version, e.data,
                $3, $4, $5, now()
           FROM unnest($6::text[], $7::int[], $8::jsonb[]) WITH ORDINALITY AS e(type, schema_version, data, ord)
         RETURNING ${EVENT_COLUMNS}`,
        [
          orderId,
          stream.version,
          metadata.correlationId,
          metadata.causationId,
          metadata.traceparent ?? null,
          events.map((e) => e.type),
          events.map((e) => orderEventSchemas[e.type].schemaVersion),
          events.map((e) => JSON.stringify(e.data)),
        ],
      );
    } catch (error) {
      if (isUniqueViolation(error, 'order_events_stream_version')) {
        throw new StreamVersionConflict(orderId, stream.version);
      }
      throw error;
    }
    // A transaction that took its id before the previous append committed would sort before
    // it; retrying in a new transaction takes a later id and keeps each order in version order.
    const first = rows[0];
    if (first && stream.lastPosition !== null && BigInt(first.position) <= stream.lastPosition) {
      throw new StreamVersionConflict(orderId, stream.version);
    }
    return rows.sort((a, b) => a.version - b.version).map((row) => toEnvelope(row));
  }

  /**
   * Events after `after` in position order, only from transactions that can no longer be
   * overtaken: every position below the oldest running transaction's id is final.
   */
  async readFeed(after: bigint, limit: number, manager?: EntityManager): Promise<StoredEvent[]> {
    const rows: EventRow[] = await (manager ?? this.dataSource.manager).query(
      `SELECT ${EVENT_COLUMNS} FROM order_events
        WHERE position > $1
          AND position < pg_snapshot_xmin(pg_current_snapshot())::text::bigint * ${POSITION_SLOTS_PER_TRANSACTION}
        ORDER BY position
        LIMIT $2`,
      [after.toString(), limit],
    );
    return rows.map((row) => ({
      envelope: toEnvelope(row),
      traceparent: row.traceparent,
    }));
  }
}

function toEnvelope(row: EventRow): EventEnvelope {
  const { schemaVersion, data } = upcastEvent(row.type, row.schema_version, row.data);
  return {
    eventId: row.event_id,
    type: row.type,
    schemaVersion,
    orderId: row.order_id,
    version: row.version,
    position: row.position,
    occurredAt: row.occurred_at.toISOString(),
    correlationId: row.correlation_id,
    causationId: row.causation_id,
    data,
  } as EventEnvelope;
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const driverError = (error as { driverError?: { code?: string; constraint?: string } })
    .driverError;
  return driverError?.code === '23505' && driverError.constraint === constraint;
}
