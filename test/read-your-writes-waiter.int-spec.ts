import { MongoClient, type CommandStartedEvent } from 'mongodb';
import { loadQueryServiceConfig } from '../apps/query-service/src/config/query-service.config';
import { OrderVersionNotifier } from '../apps/query-service/src/consistency/order-version.notifier';
import { ReadYourWritesWaiter } from '../apps/query-service/src/consistency/read-your-writes.waiter';
import { orderViewIdOf } from '../apps/query-service/src/projections/order-view.projection';
import { LiveViews } from '../apps/query-service/src/read-store/live-views';
import { MongoHeartbeatWatchdog } from '../apps/query-service/src/read-store/mongo-heartbeat.watchdog';
import { ReadModelGenerations } from '../apps/query-service/src/read-store/read-model-generations';
import { ReadModelWriter } from '../apps/query-service/src/read-store/read-model.writer';
import { ReadStore } from '../apps/query-service/src/read-store/read-store.service';
import { createTestDatabase, type TestDatabase } from './support/mongo-test-database';
import { OrderEventStream } from './support/order-event.stream';

/**
 * A read that waits for a consistency token sees a write applied by another replica's
 * consumer (it polls the store) and one applied here at once (it is notified), without
 * polling the store so often that waiting reads starve the projection they wait for.
 */
describe('read-your-writes waiter', () => {
  let store: TestDatabase;
  // A client of its own that reports every command it sends, to count the polls.
  let client: MongoClient;
  let readStore: ReadStore;
  let generations: ReadModelGenerations;
  let notifier: OrderVersionNotifier;
  let waiter: ReadYourWritesWaiter;
  const viewReads: CommandStartedEvent[] = [];

  beforeAll(async () => {
    store = await createTestDatabase('ryw_waiter');
    client = new MongoClient(store.url, { monitorCommands: true });
    await client.connect();
    const config = loadQueryServiceConfig(
      {},
      { MONGODB_URL: store.url, RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672/%2F' },
    );
    readStore = new ReadStore(
      client,
      new MongoHeartbeatWatchdog(client, { stuckAfterMs: 60_000 }),
      config,
    );
    generations = new ReadModelGenerations(readStore);
    await generations.onModuleInit();
    notifier = new OrderVersionNotifier();
    waiter = new ReadYourWritesWaiter(generations, notifier, new LiveViews());
    client.on('commandStarted', (event: CommandStartedEvent) => {
      if (event.commandName === 'find' && String(event.command.find).startsWith('order_views')) {
        viewReads.push(event);
      }
    });
  });

  afterAll(async () => {
    await readStore?.onApplicationShutdown();
    await store?.drop();
  });

  it('polls a long wait ever less often on a replica that applies no events: about a dozen reads in 2 s, not one every 20 ms', async () => {
    const stream = new OrderEventStream();
    viewReads.length = 0;
    expect(await waiter.waitForOrderVersion(stream.orderId, 1, 2_000)).toBe(false);
    // Doubling from 10 ms to 250 ms: 0, 10, 30, 70, 150, 310, 560, ... 1810 ms and the end.
    expect(viewReads.length).toBeGreaterThanOrEqual(2);
    expect(viewReads.length).toBeLessThanOrEqual(15);
  });

  it('sees a write another replica applied, and wakes at once on one applied here', async () => {
    const target = await generations.forWriting();
    const remote = new OrderEventStream();
    const waiting = waiter.waitForOrderVersion(remote.orderId, 1, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await new ReadModelWriter().applyOrderEvent(target, remote.placed());
    expect(await waiting).toBe(true);

    const local = new OrderEventStream();
    viewReads.length = 0;
    const waitingHere = waiter.waitForOrderVersion(local.orderId, 1, 10_000);
    // The consumer of this replica applied it (the store is not written here: only the
    // notification can end this wait).
    setTimeout(() => notifier.notifyOrderVersion(orderViewIdOf(local.orderId), 1), 50);
    expect(await waitingHere).toBe(true);
    expect(viewReads.length).toBeLessThanOrEqual(4);
  });

  it('polls only once a second while this replica applies events', async () => {
    // This replica's consumer keeps applying events of other orders: it is the active one.
    const applying = setInterval(
      () => notifier.notifyOrderVersion(orderViewIdOf(new OrderEventStream().orderId), 1),
      50,
    );
    notifier.notifyOrderVersion(orderViewIdOf(new OrderEventStream().orderId), 1);
    viewReads.length = 0;
    try {
      expect(await waiter.waitForOrderVersion(new OrderEventStream().orderId, 1, 2_000)).toBe(
        false,
      );
    } finally {
      clearInterval(applying);
    }
    expect(viewReads.length).toBeGreaterThanOrEqual(2);
    expect(viewReads.length).toBeLessThanOrEqual(4);
  });
});
