import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { databaseUnavailableProblem } from '../apps/command-service/src/database/database-unavailable';
import { OrderEventStore } from '../apps/command-service/src/event-store/order-event-store';
import { newOrderAppend } from './support/new-order-append';
import { createMigratedDatabase } from './support/migrated-database';
import { databaseUrl, dropDatabase } from './support/postgres';
import { waitFor } from './support/wait-for';

/**
 * PostgreSQL closing a command's connection is an outage (503), never an internal error (500),
 * at whatever moment it comes. The faults suite terminates backends at random under load; this
 * pins down the moment it once missed: between a batch's BEGIN and its append.
 */
describe('event store when PostgreSQL closes the connection', () => {
  let database: string;
  let dataSource: DataSource;
  let store: OrderEventStore;
  let admin: Client;

  beforeAll(async () => {
    ({ database, dataSource } = await createMigratedDatabase('orders_outage'));
    store = new OrderEventStore(dataSource);
    admin = new Client({ connectionString: databaseUrl(database) });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.end();
    await dataSource?.destroy();
    await dropDatabase(database);
  });

  it('fails an append in a transaction whose connection was closed as an outage', async () => {
    let appendError: unknown;
    const transaction = dataSource.transaction(async (manager) => {
      const [{ pid }] = await manager.query<[{ pid: number }]>('SELECT pg_backend_pid() AS pid');
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      // TypeORM hands the connection back to the pool once its client reports the close.
      await waitFor(
        'the transaction to lose its connection',
        () => manager.queryRunner?.isReleased,
      );
      appendError = await store.appendToStreams(manager, [newOrderAppend('outage')]).then(
        () => undefined,
        (error: unknown) => error,
      );
    });
    await expect(transaction).rejects.toThrow();

    expect(appendError).toBeInstanceOf(Error);
    expect(databaseUnavailableProblem(appendError)).toMatchObject({ status: 503 });
    const [{ count }] = await dataSource.query<[{ count: number }]>(
      'SELECT count(*)::int AS count FROM order_events',
    );
    expect(count).toBe(0);
  });
});
