import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { createDataSource, runMigrations } from '../apps/command-service/src/database/data-source';
import { OrderEventStore } from '../apps/command-service/src/event-store/order-event-store';
import { newOrderAppend } from './support/new-order-append';
import { createDatabase, databaseUrl, dropDatabase } from './support/postgres';
import { uniqueName } from './support/test-names';

/**
 * The event store's statements are named, and PostgreSQL keeps a named statement's generic
 * plan for the connection's life once it has chosen one (after five runs, if it looks no
 * dearer than planning each time). A plan made while `order_events` is nearly empty must not
 * scan the table: the append's existence check once became a hash anti-join over a scan of
 * the whole table, 52-60 ms an insert at 200,000 rows.
 */
describe('event store plans made on an empty table', () => {
  let database: string;
  let dataSource: DataSource;
  let store: OrderEventStore;

  beforeAll(async () => {
    database = uniqueName('orders_plans');
    // Generic plans from the first run on, so that the plan is made on the empty table.
    await createDatabase(database, { plan_cache_mode: 'force_generic_plan' });
    const migrating = await createDataSource(databaseUrl(database)).initialize();
    await runMigrations(migrating);
    await migrating.destroy();
    // One connection: the store's named statements and the EXPLAIN below share it.
    dataSource = await createDataSource(databaseUrl(database), 1).initialize();
    store = new OrderEventStore(dataSource);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await dropDatabase(database);
  });

  /** The plan the connection keeps for a named statement, as EXPLAIN EXECUTE shows it. */
  async function planOf(statement: string, args: string): Promise<string> {
    const rows: { 'QUERY PLAN': string }[] = await dataSource.query(
      `EXPLAIN (COSTS OFF) EXECUTE "${statement}"(${args})`,
    );
    return rows.map((row) => row['QUERY PLAN']).join('\n');
  }

  it('appends with an index probe per row', async () => {
    await store.appendToStreams(dataSource.manager, [newOrderAppend('plans')]);
    const plan = await planOf(
      'orders-append',
      `'{${randomUUID()}}', '{1}', '{OrderPlaced}', '{1}', ARRAY['{}'::jsonb], '{c}', '{c}',
       '{NULL}', '{0}'`,
    );
    expect(plan).toContain('Index Only Scan using order_events_stream_version');
    expect(plan).not.toContain('Seq Scan');
  });

  it('reads the feed by the primary key', async () => {
    await store.readFeed(0n, 500);
    const plan = await planOf('orders-read-feed', '0, 500');
    expect(plan).toContain('Index Scan using order_events_pkey on order_events');
    expect(plan).not.toContain('Seq Scan on order_events');
  });
});
