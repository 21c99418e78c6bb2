/** Anything that runs a parameterised SQL query: a pg Client, a TypeORM DataSource. */
interface Sql {
  query(text: string, parameters: unknown[]): Promise<unknown>;
}

/** The data of every backlog event (an OrderPlaced of one line). */
export const BACKLOG_EVENT_DATA = {
  customerId: 'backlog',
  currency: 'EUR',
  items: [{ sku: 'A', quantity: 1, unitPrice: 100, lineTotal: 100 }],
  itemCount: 1,
  total: 100,
};

/**
 * Writes `count` OrderPlaced events (one new order each) straight into the event store, as
 * commands would have, in transactions of at most 9,999 events (a transaction's positions).
 */
export async function writeOrderPlacedBacklog(sql: Sql, count: number): Promise<void> {
  for (let written = 0; written < count; written += 9_999) {
    await sql.query(
      `INSERT INTO order_events (position, event_id, order_id, version, type, schema_version,
         data, correlation_id, causation_id, occurred_at)
       SELECT pg_current_xact_id()::text::bigint * 10000 + g, gen_random_uuid(), gen_random_uuid(),
              1, 'OrderPlaced', 2, $1, 'backlog', 'backlog', now()
         FROM generate_series(1, $2::int) AS g`,
      [JSON.stringify(BACKLOG_EVENT_DATA), Math.min(9_999, count - written)],
    );
  }
}
