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

interface BuiltGroupCommit {
  write(command: {
    orderId: string;
    order: { state: unknown; version: number; lastPosition: bigint | null };
    events: { type: string; data: unknown }[];
    metadata: { correlationId: string; causationId: string };
    created: boolean;
  }): Promise<unknown>;
}

/**
 * Our event store's append as the command service writes (group commit), in process (no
 * HTTP, no decision): one new stream per append.
 */
export async function ourAppendRate(
  root: string,
  url: string,
  workers: number,
  durationMs: number,
) {
  // The built command service, loaded as compiled JavaScript (its path aliases are resolved).
  const dist = join(root, 'dist/apps/command-service/apps/command-service/src');
  const load = (path: string) =>
    require(join(dist, path)) as Record<string, new (...args: unknown[]) => unknown>;
  const { createDataSource, ensureDatabaseExists, runMigrations } = require(
    join(dist, 'database/data-source.js'),
  ) as typeof import('../apps/command-service/src/database/data-source');
  await ensureDatabaseExists(url);
  const dataSource = createDataSource(url, workers);
  await dataSource.initialize();
  await runMigrations(dataSource);
  const { OrderEventStore } = load('event-store/order-event-store.js');
  const { SnapshotStore } = load('event-store/snapshot-store.js');
  const { OrderRepository } = load('orders/order.repository.js');
  const { IdempotencyStore } = load('idempotency/idempotency-store.js');
  const { CommitSignal } = load('outbox/commit-signal.js');
  const { GroupCommit } = load('orders/commands/group-commit.js');
  const signal = new CommitSignal!(dataSource) as { setLocalRelayLeads(leads: boolean): void };
  signal.setLocalRelayLeads(true); // no relay here: a commit wakes nobody
  const commits = new GroupCommit!(
    dataSource,
    new OrderRepository!(new OrderEventStore!(dataSource), new SnapshotStore!(dataSource)),
    new IdempotencyStore!(dataSource),
    signal,
  ) as BuiltGroupCommit;
  const started = performance.now();
  const done = await closedLoop(workers, durationMs, async () => {
    await commits.write({
      orderId: randomUUID(),
      order: { state: {}, version: 0, lastPosition: null },
      events: [{ type: 'OrderPlaced', data: placed }],
      metadata: { correlationId: 'bench', causationId: 'bench' },
      created: true,
    });
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
