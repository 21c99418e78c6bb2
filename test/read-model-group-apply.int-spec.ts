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
import { createTestDatabase, type TestDatabase } from './support/mongo-test-database';
import { OrderEventStream } from './support/order-event.stream';

/**
 * The live projection applies events of different orders that arrive together in shared
 * writes (the consumer applies one event per order at a time), and reads a view only when it
 * did not write it last: fewer round trips, the same outcome per event, and an event at fault
 * fails alone.
 */
describe('read model group apply', () => {
  let store: TestDatabase;
  // A client of its own that reports every command it sends, to count the writes.
  let client: MongoClient;
  let target: ReadModelCollections;
  const historyInserts: CommandStartedEvent[] = [];

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
    };
    client.on('commandStarted', count);
    try {
      const outcomes = await Promise.all(placed.map((e) => writer.applyOrderEvent(target, e)));
      expect(outcomes.map((o) => o.kind)).toEqual(placed.map(() => 'applied'));
      expect(historyInserts.length).toBeLessThan(placed.length / 2);

      // Next round: a duplicate, a gap and an applied event side by side.
      const [, gap, next] = streams as [OrderEventStream, OrderEventStream, OrderEventStream];
      gap.itemAdded('B', 1, 1);
      const ahead = gap.itemAdded('C', 1, 1);
      const mixed = await Promise.all([
        writer.applyOrderEvent(target, placed[0]!),
        writer.applyOrderEvent(target, ahead),
        writer.applyOrderEvent(target, next.itemAdded('D', 2, 3)),
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

  it('reads no view it wrote itself or presumes new, and decides on a fresh read when another replica wrote it', async () => {
    const writer = new ReadModelWriter();
    const other = new ReadModelWriter();
    const stream = new OrderEventStream();
    const orderId = orderViewIdOf(stream.orderId);
    const viewReads: CommandStartedEvent[] = [];
    const count = (event: CommandStartedEvent) => {
      if (event.commandName === 'find' && event.command.find === target.orderViews.collectionName) {
        viewReads.push(event);
      }
    };
    client.on('commandStarted', count);
    try {
      // Placed is presumed new, and the next three events extend what the writer wrote.
      const placed = stream.placed();
      await writer.applyOrderEvent(target, placed);
      for (const sku of ['A', 'B', 'C']) {
        expect((await writer.applyOrderEvent(target, stream.itemAdded(sku, 1, 1))).kind).toBe(
          'applied',
        );
      }
      expect(viewReads).toHaveLength(0);
      // Presumed new on a writer that has not seen the order: the view exists, so a duplicate.
      expect(await other.applyOrderEvent(target, placed)).toEqual({
        kind: 'duplicate',
        orderId,
        version: 4,
      });

      // Another replica applies v5 and v6: this writer's v4 is stale now. v7 extends v6 (on
      // the stale v4 it would look like a gap), and a redelivered v5 is a duplicate.
      const v5 = stream.itemAdded('D', 1, 1);
      await other.applyOrderEvent(target, v5);
      await other.applyOrderEvent(target, stream.itemAdded('E', 1, 1));
      expect(await writer.applyOrderEvent(target, stream.itemAdded('F', 1, 1))).toEqual({
        kind: 'applied',
        orderId,
        version: 7,
      });
      expect(await writer.applyOrderEvent(target, v5)).toEqual({
        kind: 'duplicate',
        orderId,
        version: 7,
      });
    } finally {
      client.off('commandStarted', count);
    }
    const view = await target.orderViews.findOne({ _id: orderId });
    expect(view?.version).toBe(7);
    expect(view?.items.map((line) => line.sku)).toEqual(['A', 'B', 'C', 'D', 'E', 'F']);
    expect(await target.orderHistory.countDocuments({ orderId: stream.orderId })).toBe(7);
  });

  it('fails only the event at fault when it shares a write with others', async () => {
    const writer = new ReadModelWriter();
    const good = Array.from({ length: 20 }, () => new OrderEventStream().placed());
    const orphan = new OrderEventStream();
    orphan.placed();
    // Version 2 of an order the read model never saw placed: the projection refuses it.
    const bad = { ...orphan.itemAdded('X', 1, 1), version: 1 };
    const results = await Promise.allSettled(
      [...good.slice(0, 10), bad, ...good.slice(10)].map((e) => writer.applyOrderEvent(target, e)),
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
});
