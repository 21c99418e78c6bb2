import { Injectable } from '@nestjs/common';
import { orderEventSchemas, type EventEnvelope, type OrderEvent } from '@orders/contracts';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { DataSource, QueryRunnerAlreadyReleasedError, type EntityManager } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import type { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';
import { upcastEvent } from './upcasters';

/** Events one transaction may write; positions of a transaction are `txid * SLOTS + index`. */
export const POSITION_SLOTS_PER_TRANSACTION = 10_000;
/** `pg_stat_activity` gives 32-bit transaction ids; a snapshot's are 64-bit (epoch and id). */
const XID_RANGE = 2 ** 32;

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

/** Another writer appended to one of the streams first: decide again on the new state. */
export class StreamVersionConflict extends Error {
  constructor(readonly orderIds: readonly string[]) {
    super(`order ${orderIds.join(', ')} was appended to concurrently`);
    this.name = 'StreamVersionConflict';
  }
}

/** Events to append to one stream after the version it was read at. */
export interface StreamAppend {
  orderId: string;
  stream: Pick<OrderStream, 'version' | 'lastPosition'>;
  events: readonly OrderEvent[];
  metadata: EventMetadata;
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

/**
 * The position goes out as text (a bigint does not fit a JS number). The output column keeps the
 * name `position`, so a query ordering by it must say `order_events.position`: a bare
 * `ORDER BY position` sorts the text ('1000' before '999') and pages skip events.
 */
const EVENT_COLUMNS = `position::text, event_id, order_id, version, type, schema_version, data,
  correlation_id, causation_id, traceparent, occurred_at`;

/**
 * The feed below the visibility horizon (OrderEventStore.readFeed). One row with nulls when no
 * event is visible, so that held_back always comes back. max() reads one end of the primary
 * key: an EXISTS over the positions past the horizon was planned as a scan of the whole table
 * (25 ms a read at 100,000 events).
 */
const READ_FEED_SQL = `
  WITH snapshot AS MATERIALIZED (
    SELECT pg_current_snapshot() AS s
  ), other_databases AS MATERIALIZED (
    SELECT backend_xid::text::bigint AS xid FROM pg_stat_activity
     WHERE backend_xid IS NOT NULL
       AND datid <> (SELECT oid FROM pg_database WHERE datname = current_database())
  ), horizon AS MATERIALIZED (
    SELECT coalesce(
             (SELECT min(running::text::bigint) FROM pg_snapshot_xip(s) AS running
               WHERE running::text::bigint % ${XID_RANGE} NOT IN (SELECT xid FROM other_databases)),
             pg_snapshot_xmax(s)::text::bigint
           ) * ${POSITION_SLOTS_PER_TRANSACTION} AS position
      FROM snapshot
  ), feed AS (
    SELECT ${EVENT_COLUMNS}, order_events.position AS sort_position FROM order_events
     WHERE order_events.position > $1 AND order_events.position < (SELECT position FROM horizon)
     ORDER BY order_events.position
     LIMIT $2
  )
  SELECT feed.*, (SELECT max(position) FROM order_events) >= (SELECT position FROM horizon)
           AS held_back
    FROM (SELECT) AS one LEFT JOIN feed ON true
   ORDER BY feed.sort_position`;

/**
 * Appends the rows of several streams in one statement (OrderEventStore.appendToStreams). It
 * runs as a named statement, and PostgreSQL keeps a named statement's generic plan once it
 * has made one, whatever the table has grown to since. `OFFSET 0` keeps the existence check a
 * per-row probe of the (order_id, version) index: without it, a generic plan made while
 * `order_events` was nearly empty was a hash anti-join over a scan of the whole table, 52-60 ms
 * an insert at 200,000 rows.
 */
const APPEND_SQL = `INSERT INTO order_events (position, event_id, order_id, version, type, schema_version,
    data, correlation_id, causation_id, traceparent, occurred_at)
  SELECT pg_current_xact_id()::text::bigint * ${POSITION_SLOTS_PER_TRANSACTION} + e.ord,
         gen_random_uuid(), e.order_id, e.version, e.type, e.schema_version, e.data,
         e.correlation_id, e.causation_id, e.traceparent, now()
    FROM unnest($1::uuid[], $2::int[], $3::text[], $4::int[], $5::jsonb[], $6::text[],
                $7::text[], $8::text[], $9::int[])
         WITH ORDINALITY AS e(order_id, version, type, schema_version, data,
                              correlation_id, causation_id, traceparent, after, ord)
   -- The same answer for every row of one append: all of it is written, or none.
   WHERE NOT EXISTS (SELECT 1 FROM order_events o
                      WHERE o.order_id = e.order_id AND o.version = e.after + 1 OFFSET 0)
  RETURNING ${EVENT_COLUMNS}`;

/**
 * Order events in PostgreSQL, one row per event.
 *
 * Positions come from the writing transaction's id (`pg_current_xact_id()`), not a sequence,
 * so that position order is the order in which transactions can become visible: a reader that
 * only takes positions below the oldest running transaction of its database can never see
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
   * Appends events after each stream's version, to several streams in one statement of the
   * caller's transaction (group commit): the events of all of them share the transaction's
   * id, and the index runs across the whole statement. Returns each append's stored events,
   * in the order given, or a StreamVersionConflict for an append whose stream had already
   * moved on when the statement began (nothing of it is written; the others are). Throws
   * StreamVersionConflict when a writer still in flight appends to one of the streams too.
   *
   * Why per append: behind a round-robin balancer an order's commands alternate between
   * replicas, so a replica's remembered state is often one version behind. When that conflict
   * failed the whole statement, the batch was rolled back and every command in it was written
   * again alone.
   */
  async appendToStreams(
    manager: EntityManager,
    appends: readonly StreamAppend[],
  ): Promise<(EventEnvelope[] | StreamVersionConflict)[]> {
    const rows = appends.flatMap(({ orderId, stream, events, metadata }) =>
      events.map((event, index) => ({
        orderId,
        version: stream.version + index + 1,
        after: stream.version,
        event,
        metadata,
      })),
    );
    if (rows.length === 0) return appends.map(() => []);
    if (rows.length >= POSITION_SLOTS_PER_TRANSACTION) {
      throw new Error(`${rows.length} events do not fit in one transaction's positions`);
    }
    let stored: EventRow[];
    try {
      stored = await this.namedQuery<EventRow>(manager, 'orders-append', APPEND_SQL, [
        rows.map((r) => r.orderId),
        rows.map((r) => r.version),
        rows.map((r) => r.event.type),
        rows.map((r) => orderEventSchemas[r.event.type].schemaVersion),
        rows.map((r) => JSON.stringify(r.event.data)),
        rows.map((r) => r.metadata.correlationId),
        rows.map((r) => r.metadata.causationId),
        rows.map((r) => r.metadata.traceparent ?? null),
        rows.map((r) => r.after),
      ]);
    } catch (error) {
      if (isUniqueViolation(error, 'order_events_stream_version')) {
        throw new StreamVersionConflict(appends.map((a) => a.orderId));
      }
      throw error;
    }
    // A row's index in the statement is its position modulo the slots: back to its append.
    const byIndex = new Map(
      stored.map((row) => [
        Number(BigInt(row.position) % BigInt(POSITION_SLOTS_PER_TRANSACTION)),
        row,
      ]),
    );
    let index = 0;
    return appends.map(({ orderId, stream, events }) => {
      const own = events.map(() => byIndex.get(++index)).filter((row) => row !== undefined);
      if (own.length < events.length) {
        if (own.length === 0) return new StreamVersionConflict([orderId]);
        throw new Error(`append to order ${orderId} was written in part`);
      }
      // A transaction that took its id before the previous append committed would sort before
      // it; retrying in a new transaction takes a later id and keeps each order in version order.
      const first = own[0];
      if (first && stream.lastPosition !== null && BigInt(first.position) <= stream.lastPosition) {
        throw new StreamVersionConflict([orderId]);
      }
      return own.map((row) => toEnvelope(row));
    });
  }

  /**
   * Events after `after` in position order, only from transactions that can no longer be
   * overtaken: every position below the oldest running transaction of this database is final.
   * `heldBack`: committed events lie beyond that horizon, behind an older transaction still
   * open. That transaction may be none of ours (any transaction of this database counts), so no
   * commit signal may come when it ends.
   *
   * The horizon is the snapshot's oldest running transaction id (`pg_snapshot_xmin`) without
   * the ones of other databases, which can never write an event here. Transaction ids are the
   * server's, so a snapshot lists every database's open transactions: with `pg_snapshot_xmin`
   * alone, a long transaction of any other database on the server (a batch job, a migration;
   * FerretDB's, in the tests) held every event back until it ended. A running transaction is
   * known to be another database's by its backend's `pg_stat_activity` row; one that ended, or
   * has no row (a prepared transaction), still counts, so a mistake can only hold back, never
   * skip.
   */
  async readFeed(
    after: bigint,
    limit: number,
  ): Promise<{ events: StoredEvent[]; heldBack: boolean }> {
    // Planning took 1.0 ms and running it 0.3, so at light load, where the relay reads once
    // per event, most of a read was planning (2.8 ms a read from commit signal to rows).
    const rows = await this.namedQuery<
      (EventRow | { [K in keyof EventRow]: null }) & { held_back: boolean }
    >(this.dataSource.manager, 'orders-read-feed', READ_FEED_SQL, [after.toString(), limit]);
    return {
      events: rows.flatMap((row) => (row.position === null ? [] : [toStoredEvent(row)])),
      heldBack: rows[0]?.held_back ?? false,
    };
  }

  /**
   * Runs `text` as a named statement on the connection `manager` works on (its transaction's,
   * or any of the pool's): PostgreSQL plans it once per connection instead of on every run.
   * TypeORM's query() cannot name a statement, so this goes to its pg client or pool.
   * A runner whose connection the server closed has handed its client back, yet still gives it
   * out: refuse it as TypeORM's own query() would, so the close is seen as the outage it is.
   */
  private async namedQuery<R extends QueryResultRow>(
    manager: EntityManager,
    name: string,
    text: string,
    values: unknown[],
  ): Promise<R[]> {
    const runner = manager.queryRunner as PostgresQueryRunner | undefined;
    if (runner?.isReleased) throw new QueryRunnerAlreadyReleasedError();
    const client: Pool | PoolClient = runner
      ? ((await runner.connect()) as PoolClient)
      : ((this.dataSource.driver as PostgresDriver).master as Pool);
    return (await client.query<R>({ name, text, values })).rows;
  }
}

function toStoredEvent(row: EventRow): StoredEvent {
  return { envelope: toEnvelope(row), traceparent: row.traceparent };
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
  // TypeORM wraps the driver's error; a named statement goes to pg itself (namedQuery).
  const candidate = (error as { driverError?: unknown }).driverError ?? error;
  const { code, constraint: violated } = (candidate ?? {}) as {
    code?: unknown;
    constraint?: unknown;
  };
  return code === '23505' && violated === constraint;
}
