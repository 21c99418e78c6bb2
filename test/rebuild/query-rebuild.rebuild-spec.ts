import type { EventEnvelope } from '@orders/contracts';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RebuildStatus } from '../../apps/query-service/src/rebuild/read-model.rebuilder';
import { ensureServiceBuilt } from '../support/build-service';
import { CommandLoad } from '../support/command-load';
import { readWholeFeed } from '../support/event-feed.reader';
import { createTestDatabase, type TestDatabase } from '../support/mongo-test-database';
import { databaseUrl, dropDatabase } from '../support/postgres';
import { createVhost, deleteVhost } from '../support/rabbitmq';
import {
  eventsByOrder,
  expectedHistory,
  expectedOrderView,
  recountDailyStats,
  recountProductStats,
} from '../support/read-model.recount';
import { startService, type ServiceProcess } from '../support/service-process';
import { uniqueName } from '../support/test-names';
import { delay, waitFor } from '../support/wait-for';

/*
 * Rebuild from the feed with the real command service and two query-service replicas: reads
 * keep being served while the new generation is built, the replica running the rebuild is
 * killed half-way and the other resumes from the checkpoint, commands keep arriving through
 * the switch, and afterwards every document equals a recount of the feed.
 */

jest.setTimeout(240_000);

const CLI = join(
  __dirname,
  '..',
  '..',
  'dist/apps/query-service/apps/query-service/src/cli/rebuild.js',
);
const run = promisify(execFile);

let database: string;
let vhost: string;
let readStore: TestDatabase;
let command: ServiceProcess;
/** Started first: the single active consumer, and the replica every read goes to. */
let serving: ServiceProcess;
/** Runs the rebuild until it is killed. */
let standby: ServiceProcess | undefined;
let queryEnv: Record<string, string>;

async function getJson(base: string, path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.json() };
}

async function rebuildStatus(base = serving.url): Promise<RebuildStatus> {
  return (await getJson(base, '/admin/rebuild')).body as RebuildStatus;
}

/** Waits until the serving replica shows every order at the feed's last version of it. */
async function waitUntilCaughtUp(): Promise<Map<string, EventEnvelope[]>> {
  return waitFor(
    'the read side at the end of the feed',
    async () => {
      const byOrder = eventsByOrder(await readWholeFeed(command.url));
      for (const [orderId, events] of byOrder) {
        const view = await getJson(serving.url, `/orders/${orderId}`);
        if ((view.body as { version?: number }).version !== events.length) return undefined;
      }
      return byOrder;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}

/** Reads of every kind against the serving replica, recording any answer but 200. */
function startReaders(orderIds: () => string[]) {
  const failures: string[] = [];
  let reads = 0;
  let running = true;
  const paths = () => {
    const ids = orderIds();
    const id = ids[Math.floor(Math.random() * ids.length)]!;
    return [
      `/orders/${id}`,
      `/orders/${id}/history`,
      `/orders/${id}?atVersion=1`,
      '/orders?limit=50',
      '/orders?customerId=load-1&limit=10',
      '/stats/products?currency=EUR',
      `/stats/daily?currency=EUR&from=${dayOffset(-180)}&to=${dayOffset(180)}`,
    ];
  };
  const loop = (async () => {
    while (running) {
      for (const path of paths()) {
        try {
          const response = await fetch(`${serving.url}${path}`, {
            signal: AbortSignal.timeout(10_000),
          });
          await response.arrayBuffer();
          reads += 1;
          if (response.status !== 200) failures.push(`${path}: ${response.status}`);
        } catch (error) {
          failures.push(`${path}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      await delay(20);
    }
  })();
  return {
    failures,
    reads: () => reads,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

function dayOffset(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

async function expectReadModelsEqualTheFeed(
  byOrder: Map<string, EventEnvelope[]>,
  generation: number,
) {
  for (const [orderId, events] of byOrder) {
    const view = await getJson(serving.url, `/orders/${orderId}`);
    expect(view.body).toEqual(expectedOrderView(events));
    const history = await getJson(serving.url, `/orders/${orderId}/history`);
    expect(history.body).toEqual(expectedHistory(events));
  }
  for (const sortBy of ['revenue', 'unitsSold'] as const) {
    const products = await getJson(serving.url, `/stats/products?sortBy=${sortBy}&limit=100`);
    expect(products.body).toEqual(recountProductStats(byOrder, { sortBy, limit: 100 }));
  }
  const today = new Date().toISOString().slice(0, 10);
  const daily = await getJson(serving.url, `/stats/daily?currency=EUR&from=${today}&to=${today}`);
  expect(daily.body).toEqual(recountDailyStats(byOrder, 'EUR', today, today));
  const db = readStore.client.db(readStore.name);
  expect(await db.collection(`order_views_g${generation}`).countDocuments()).toBe(byOrder.size);
  expect(await db.collection(`order_history_g${generation}`).countDocuments()).toBe(
    [...byOrder.values()].flat().length,
  );
}

beforeAll(async () => {
  ensureServiceBuilt('command-service');
  ensureServiceBuilt('query-service');
  database = uniqueName('orders_rebuild');
  vhost = uniqueName('orders_rebuild');
  const amqpUrl = await createVhost(vhost);
  readStore = await createTestDatabase('query_rebuild');
  command = await startService('command', {
    DATABASE_URL: databaseUrl(database),
    RABBITMQ_URL: amqpUrl,
  });
  queryEnv = {
    MONGODB_URL: readStore.url,
    RABBITMQ_URL: amqpUrl,
    COMMAND_SERVICE_URL: command.url,
    // Small pages: the rebuild spans many checkpoints, so it can be interrupted between them.
    REBUILD_PAGE_SIZE: '100',
  };
  serving = await startService('query', queryEnv);
  await delay(500);
  standby = await startService('query', queryEnv);
});

/** SIGTERM, and SIGKILL (with the service's last output) if it has not stopped in 30 s. */
async function stopWithin(service: ServiceProcess | undefined): Promise<void> {
  if (!service) return;
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), 30_000);
  });
  const stopped = await Promise.race([service.stop(), hung]);
  clearTimeout(timer);
  if (stopped === 'hung') {
    console.error(`service did not stop on SIGTERM:\n${service.output().slice(-5000)}`);
    await service.stop('SIGKILL');
  }
}

afterAll(async () => {
  await Promise.all([stopWithin(command), stopWithin(serving), stopWithin(standby)]);
  await readStore?.drop();
  if (vhost) await deleteVhost(vhost);
  if (database) await dropDatabase(database);
});

describe('rebuild from the event feed (§5)', () => {
  it('rebuilds into a new generation while serving, resumes after the rebuilding replica dies, and switches without losing live events', async () => {
    const load = new CommandLoad(() => command.url, 4, 10);
    load.start();
    await waitFor('600 acknowledged commands', () => load.acknowledged.length >= 600, {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    const knownOrders = [...new Set(load.acknowledged.map((ack) => ack.orderId))];
    const readers = startReaders(() => knownOrders);
    expect((await rebuildStatus()).activeGeneration).toBe(1);

    const readsBefore = readers.reads();
    const started = await fetch(`${standby!.url}/admin/rebuild`, { method: 'POST' });
    expect(started.status).toBe(202);
    expect(await started.json()).toMatchObject({
      activeGeneration: 1,
      runningHere: true,
      rebuild: { generation: 2, previousGeneration: 1, phase: 'building' },
    });
    const midway = await waitFor(
      'the rebuild past a few pages',
      async () => {
        const status = await rebuildStatus();
        return status.rebuild!.eventsApplied >= 100 ? status : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    expect(midway.rebuild?.phase).toBe('building');
    await standby!.stop('SIGKILL');
    standby = undefined;
    const killedAt = (await rebuildStatus()).rebuild!;

    const resumed = await waitFor(
      'the serving replica to resume the rebuild',
      async () => {
        const status = await rebuildStatus();
        return status.runningHere ? status : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(BigInt(resumed.rebuild!.checkpoint)).toBeGreaterThanOrEqual(BigInt(killedAt.checkpoint));
    const completed = await waitFor(
      'the rebuild to switch over',
      async () => {
        const status = await rebuildStatus();
        if (status.rebuild?.phase === 'failed') throw new Error(status.rebuild.error);
        return status.rebuild?.phase === 'completed' ? status : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    expect(completed.activeGeneration).toBe(2);
    // Every kind of read was served while the rebuild ran.
    expect(readers.reads() - readsBefore).toBeGreaterThanOrEqual(7);

    // Commands kept arriving through the switch; let a few more land on the new generation.
    const acknowledgedAtSwitch = load.acknowledged.length;
    await waitFor(
      'more commands after the switch',
      () => load.acknowledged.length >= acknowledgedAtSwitch + 30,
      {
        timeoutMs: 30_000,
      },
    );
    await load.stop();
    await readers.stop();
    expect(readers.failures).toEqual([]);

    const byOrder = await waitUntilCaughtUp();
    await expectReadModelsEqualTheFeed(byOrder, 2);
    console.log(
      `rebuild: ${completed.rebuild!.eventsApplied} events into generation 2 ` +
        `(${byOrder.size} orders, ${[...byOrder.values()].flat().length} events in the feed at the end); ` +
        `${readers.reads()} reads served meanwhile, none failed; built and switched in ` +
        `${((Date.parse(String(completed.rebuild!.completedAt)) - Date.parse(String(completed.rebuild!.startedAt))) / 1000).toFixed(1)} s ` +
        `(one replica killed on the way)`,
    );
  });

  it('rebuilds again from the CLI, keeps the replaced generation and drops older ones', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'start', '--wait'], {
      env: { PATH: process.env.PATH, QUERY_SERVICE_URL: serving.url },
    });
    expect(stdout).toContain('rebuild of generation 3: completed');
    expect((await rebuildStatus()).activeGeneration).toBe(3);
    const byOrder = await waitUntilCaughtUp();
    await expectReadModelsEqualTheFeed(byOrder, 3);
    const names = (await readStore.client.db(readStore.name).listCollections().toArray()).map(
      (c) => c.name,
    );
    expect(names).toEqual(
      expect.arrayContaining(['order_views_g2', 'order_views_g3', 'order_history_g3']),
    );
    expect(names).not.toContain('order_views_g1');
    expect(names).not.toContain('order_history_g1');
  });
});
