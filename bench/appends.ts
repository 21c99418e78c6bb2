import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import { closedLoop } from './stats';

const placed = {
  customerId: 'bench',
  currency: 'EUR',
  items: [{ sku: 'A', quantity: 2, unitPrice: 1250, lineTotal: 2500 }],
  itemCount: 2,
  total: 2500,
};

interface BuiltEventStore {
  appendToStream(
    manager: unknown,
    orderId: string,
    stream: { version: number; lastPosition: bigint | null },
    events: { type: string; data: unknown }[],
    metadata: { correlationId: string; causationId: string },
  ): Promise<unknown>;
}

/** Our event store's append, in process (no HTTP): one new stream per append. */
export async function ourAppendRate(
  root: string,
  url: string,
  workers: number,
  durationMs: number,
) {
  // The built command service, loaded as compiled JavaScript (its path aliases are resolved).
  const dist = join(root, 'dist/apps/command-service/apps/command-service/src');
  const { createDataSource, ensureDatabaseExists, runMigrations } = require(
    join(dist, 'database/data-source.js'),
  ) as typeof import('../apps/command-service/src/database/data-source');
  const { OrderEventStore } = require(join(dist, 'event-store/order-event-store.js')) as {
    OrderEventStore: new (dataSource: unknown) => BuiltEventStore;
  };
  await ensureDatabaseExists(url);
  const dataSource = createDataSource(url, workers);
  await dataSource.initialize();
  await runMigrations(dataSource);
  const store = new OrderEventStore(dataSource);
  const started = performance.now();
  const done = await closedLoop(workers, durationMs, async () => {
    await dataSource.transaction((manager) =>
      store.appendToStream(
        manager,
        randomUUID(),
        { version: 0, lastPosition: null },
        [{ type: 'OrderPlaced', data: placed }],
        { correlationId: 'bench', causationId: 'bench' },
      ),
    );
  });
  const rate = done / ((performance.now() - started) / 1000);
  await dataSource.destroy();
  return rate;
}

/** Emmett's PostgreSQL event store appending the same event at the same concurrency. */
export async function emmettAppendRate(url: string, workers: number, durationMs: number) {
  const eventStore = getPostgreSQLEventStore(url, { connectionOptions: { pooled: true } } as never);
  await eventStore.appendToStream(`warmup-${randomUUID()}`, [
    { type: 'OrderPlaced', data: placed },
  ]);
  const started = performance.now();
  const done = await closedLoop(workers, durationMs, async () => {
    await eventStore.appendToStream(`order-${randomUUID()}`, [
      { type: 'OrderPlaced', data: placed },
    ]);
  });
  const rate = done / ((performance.now() - started) / 1000);
  await eventStore.close();
  return rate;
}
