import { MongoClient, type CommandStartedEvent } from 'mongodb';
import {
  ensureReadModelIndexes,
  readModelCollectionsOf,
  type ReadModelCollections,
} from '../apps/query-service/src/read-store/read-model.collections';
import { ReadModelWriter } from '../apps/query-service/src/read-store/read-model.writer';
import {
  OrderViewProjectionError,
  orderViewIdOf,
} from '../apps/query-service/src/projections/order-view.projection';
import { isReadStoreUnavailable } from '../apps/query-service/src/read-store/read-store-unavailable';
import { ConnectionCuttingProxy, isInsertInto } from './support/connection-cutting-proxy';
import { createTestDatabase, type TestDatabase } from './support/mongo-test-database';
import { OrderEventStream } from './support/order-event.stream';
import { applyOneEvent } from './support/apply-one-event';

/**
 * The live projection applies events of different orders that arrive together in shared
 * writes (the consumer applies one event per order at a time): fewer round trips, the same
 * outcome per event, and an event at fault fails alone.
 */
describe('read model group apply', () => {
  let store: TestDatabase;
  // A client of its own that reports every command it sends, to count the writes.
  let client: MongoClient;
  let target: ReadModelCollections;
  const historyInserts: CommandStartedEvent[] = [];
  const viewReads: CommandStartedEvent[] = [];

  beforeAll(async () => {
    store = await createTestDatabase('group_apply');
    client = new MongoClient(store.url, { monitorCommands: true, ignoreUndefined: true });
    await client.connect();
    target = readModelCollectionsOf(client.db(store.name), 1);
    await ensureReadModelIndexes(target);
  });

  afterAll(async () => {
    await client?.close();
    await store?.drop();
  });

  it('applies concurrent events of 40 orders in shared writes, each with its own outcome', async () => {
    const writer = new ReadModelWriter();
    const streams = Array.from({ length: 40 }, () => new OrderEventStream());
    const placed = streams.map((s) =>
      s.placed({ items: [{ sku: 'A', quantity: 1, unitPrice: 5 }] }),
    );
    const count = (event: CommandStartedEvent) => {
      if (
        event.commandName === 'insert' &&
        event.command.insert === target.orderHistory.collectionName
      ) {
        historyInserts.push(event);
      }
      if (event.commandName === 'find' && event.command.find === target.orderViews.collectionName) {
        viewReads.push(event);
      }
    };
    client.on('commandStarted', count);
    try {
      const outcomes = await Promise.all(placed.map((e) => applyOneEvent(writer, target, e)));
      expect(outcomes.map((o) => o.kind)).toEqual(placed.map(() => 'applied'));
      expect(historyInserts.length).toBeLessThan(placed.length / 2);
      // A new order's view is inserted without being read first.
      expect(viewReads).toHaveLength(0);

      // Next round: a duplicate, a gap and an applied event side by side.
      const [, gap, next] = streams as [OrderEventStream, OrderEventStream, OrderEventStream];
      gap.itemAdded('B', 1, 1);
      const ahead = gap.itemAdded('C', 1, 1);
      const mixed = await Promise.all([
        applyOneEvent(writer, target, placed[0]!),
        applyOneEvent(writer, target, ahead),
        applyOneEvent(writer, target, next.itemAdded('D', 2, 3)),
      ]);
      expect(mixed.map((o) => [o.kind, o.version])).toEqual([
        ['duplicate', 1],
        ['gap', 1],
        ['applied', 2],
      ]);
    } finally {
      client.off('commandStarted', count);
    }
    const views = await target.orderViews.find({}).toArray();
    expect(views).toHaveLength(40);
    expect(await target.orderHistory.countDocuments()).toBe(41);
  });

  it('applies a redelivered run from version 1 past the stored view, without a second copy', async () => {
    const writer = new ReadModelWriter();
    const order = new OrderEventStream();
    const run = [order.placed(), order.itemAdded('B', 1, 2)];
    await writer.applyRuns(target, [run]);
    // Delivered again with the next event: the view exists, so the insert the run presumes
    // fails on its key, and the order is applied from the stored view.
    run.push(order.confirmed());
    const [result] = await writer.applyRuns(target, [run]);
    expect(result?.applied.map((e) => e.version)).toEqual([3]);
    const id = orderViewIdOf(order.orderId);
    expect(await target.orderViews.findOne({ _id: id })).toMatchObject({
      version: 3,
      status: 'confirmed',
    });
    expect(await target.orderHistory.countDocuments({ orderId: order.orderId })).toBe(3);
  });

  it('fails only the event at fault when it shares a write with others', async () => {
    const writer = new ReadModelWriter();
    const good = Array.from({ length: 20 }, () => new OrderEventStream().placed());
    const orphan = new OrderEventStream();
    orphan.placed();
    // Version 2 of an order the read model never saw placed: the projection refuses it.
    const bad = { ...orphan.itemAdded('X', 1, 1), version: 1 };
    const results = await Promise.allSettled(
      [...good.slice(0, 10), bad, ...good.slice(10)].map((e) => applyOneEvent(writer, target, e)),
    );
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect((rejected[0] as PromiseRejectedResult).reason).toBeInstanceOf(OrderViewProjectionError);
    expect(results.filter((r) => r.status === 'fulfilled').map((r) => r.value.kind)).toEqual(
      good.map(() => 'applied'),
    );
    expect(
      await target.orderViews.countDocuments({
        _id: { $in: good.map((e) => orderViewIdOf(e.orderId)) },
      }),
    ).toBe(20);
  });

  describe('when the read store drops the connection during an insert', () => {
    let proxy: ConnectionCuttingProxy;
    let proxied: MongoClient;
    let viaProxy: ReadModelCollections;

    beforeAll(async () => {
      const { hostname, port } = new URL(store.url);
      proxy = await ConnectionCuttingProxy.start({ host: hostname, port: Number(port) });
      proxied = new MongoClient(
        `mongodb://127.0.0.1:${proxy.port}/${store.name}?directConnection=true&maxPoolSize=10`,
        { ignoreUndefined: true, serverSelectionTimeoutMS: 5_000 },
      );
      await proxied.connect();
      viaProxy = readModelCollectionsOf(proxied.db(store.name), 1);
    });

    afterAll(async () => {
      await proxied?.close();
      await proxy?.close();
    });

    // The driver reports a dropped insertMany as a MongoBulkWriteError without write errors; read
    // as "every document was a duplicate", it acked an OrderPlaced whose view was never written.
    it.each([
      ['view', () => viaProxy.orderViews.collectionName],
      ['history entry', () => viaProxy.orderHistory.collectionName],
    ])('fails as an outage, and applies nothing, when its %s insert is cut', async (_, name) => {
      const placed = new OrderEventStream().placed();
      const id = orderViewIdOf(placed.orderId);
      proxy.cutWhen = (message) => isInsertInto(message, name());
      const cutsBefore = proxy.cuts;
      let failure: unknown;
      try {
        await new ReadModelWriter().applyRuns(viaProxy, [[placed]]);
      } catch (error) {
        failure = error;
      } finally {
        proxy.cutWhen = null;
      }
      expect(proxy.cuts).toBeGreaterThan(cutsBefore);
      expect(failure).toBeDefined();
      expect(isReadStoreUnavailable(failure)).toBe(true);
      expect(await target.orderViews.findOne({ _id: id })).toBeNull();

      // Delivered again, it is applied in full.
      const [again] = await new ReadModelWriter().applyRuns(viaProxy, [[placed]]);
      expect(again?.applied.map((e) => e.version)).toEqual([1]);
      expect(await target.orderViews.findOne({ _id: id })).toMatchObject({ version: 1 });
      expect(await target.orderHistory.countDocuments({ orderId: placed.orderId })).toBe(1);
    });
  });
});
