import type { CommandStartedEvent } from 'mongodb';
import { register, type Counter } from 'prom-client';
import { OrderVersionNotifier } from '../apps/query-service/src/consistency/order-version.notifier';
import { ReadYourWritesWaiter } from '../apps/query-service/src/consistency/read-your-writes.waiter';
import { orderViewIdOf } from '../apps/query-service/src/projections/order-view.projection';
import { GetOrderHandler } from '../apps/query-service/src/queries/get-order/get-order.handler';
import {
  GetOrderMetrics,
  type GetOrderSource,
} from '../apps/query-service/src/queries/get-order/get-order.metrics';
import { GetOrderQuery } from '../apps/query-service/src/queries/get-order/get-order.query';
import { LiveViews } from '../apps/query-service/src/read-store/live-views';
import type { ReadModelGenerations } from '../apps/query-service/src/read-store/read-model-generations';
import type { ReadModelCollections } from '../apps/query-service/src/read-store/read-model.collections';
import { ReadModelWriter } from '../apps/query-service/src/read-store/read-model.writer';
import type { EventEnvelope } from '@orders/contracts';
import { openMonitoredReadStore, type MonitoredReadStore } from './support/monitored-read-store';
import { OrderEventStream } from './support/order-event.stream';
import { applyOneEvent } from './support/apply-one-event';

/**
 * `GET /orders/{id}` and read-your-writes waits answer from the views this replica's consumer
 * wrote (LiveViews) without a read-store round trip, and never with a view older than a
 * consistency token asks for, or of another generation than the one being read.
 */
describe('live views', () => {
  let monitored: MonitoredReadStore;
  let generations: ReadModelGenerations;
  let target: ReadModelCollections;
  let liveViews: LiveViews;
  let handler: GetOrderHandler;
  const writer = new ReadModelWriter();
  const metrics = new GetOrderMetrics();
  // Every view read the store was sent.
  let viewReads: CommandStartedEvent[];

  beforeAll(async () => {
    monitored = await openMonitoredReadStore('live_views');
    ({ generations, viewReads } = monitored);
    target = await generations.forWriting();
  });

  beforeEach(() => {
    liveViews = new LiveViews();
    handler = new GetOrderHandler(generations, liveViews, metrics);
    viewReads.length = 0;
  });

  afterAll(async () => {
    await monitored?.close();
  });

  async function readsFrom(source: GetOrderSource): Promise<number> {
    const counter = register.getSingleMetric('orders_get_order_reads_total') as Counter;
    return (await counter.get()).values.find((value) => value.labels.source === source)?.value ?? 0;
  }

  /** Applies the event as the consumer does; `here` records the view as this replica's own. */
  async function apply(envelope: EventEnvelope, { here }: { here: boolean }): Promise<void> {
    const outcome = await applyOneEvent(writer, target, envelope);
    if (outcome.kind !== 'applied') throw new Error(`expected applied, got ${outcome.kind}`);
    if (here) liveViews.record(target.generation, outcome.view);
  }

  it('answers an order this replica wrote without reading the store, and waits on it without polling', async () => {
    const order = new OrderEventStream();
    await apply(order.placed(), { here: true });
    await apply(order.confirmed(), { here: true });
    viewReads.length = 0;
    const [live, stored] = [await readsFrom('live_views'), await readsFrom('read_store')];

    const view = await handler.execute(new GetOrderQuery(order.orderId, null, 2));
    expect(view).toMatchObject({ orderId: order.orderId, version: 2, status: 'confirmed' });
    expect(await readsFrom('live_views')).toBe(live + 1);
    expect(await readsFrom('read_store')).toBe(stored);
    const waiter = new ReadYourWritesWaiter(generations, new OrderVersionNotifier(), liveViews);
    expect(await waiter.waitForOrderVersion(order.orderId, 2, 1_000)).toBe(true);
    expect(viewReads).toEqual([]);
  });

  it('reads the store when the token asks for more than this replica wrote (another replica wrote it)', async () => {
    const order = new OrderEventStream();
    await apply(order.placed(), { here: true });
    await apply(order.confirmed(), { here: false });
    viewReads.length = 0;

    const view = await handler.execute(new GetOrderQuery(order.orderId, null, 2));
    expect(view).toMatchObject({ version: 2, status: 'confirmed' });
    expect(viewReads).toHaveLength(1);
    expect(liveViews.get(target.generation, orderViewIdOf(order.orderId), 2)).toBeUndefined();
  });

  it('writes the next event of an order it wrote without reading its view first', async () => {
    const liveWriter = new ReadModelWriter(liveViews);
    const order = new OrderEventStream();
    for (const envelope of [order.placed(), order.confirmed(), order.paid('payment-lv')]) {
      const outcome = await applyOneEvent(liveWriter, target, envelope);
      if (outcome.kind !== 'applied') throw new Error(`expected applied, got ${outcome.kind}`);
      liveViews.record(target.generation, outcome.view);
    }
    // None read its view: the first inserted it, the next ones started from the live view.
    expect(viewReads).toHaveLength(0);
    expect(await target.orderViews.findOne({ _id: orderViewIdOf(order.orderId) })).toMatchObject({
      version: 3,
      status: 'paid',
    });
  });

  it('takes a stale hint for what it is: the version-checked write misses, and it reads and applies again', async () => {
    const liveWriter = new ReadModelWriter(liveViews);
    const order = new OrderEventStream();
    await apply(order.placed(), { here: true });
    // Another writer moved the order on (here only possible around a session's end).
    await apply(order.confirmed(), { here: false });

    const outcome = await applyOneEvent(liveWriter, target, order.paid('payment-st'));
    expect(outcome).toMatchObject({ kind: 'applied', version: 3 });
    const stored = await target.orderViews.findOne({ _id: orderViewIdOf(order.orderId) });
    expect(stored).toMatchObject({ version: 3, status: 'paid' });
    expect(stored?.confirmedAt).toBeInstanceOf(Date);
    const history = await target.orderHistory
      .find({ orderId: orderViewIdOf(order.orderId) })
      .sort({ version: 1 })
      .toArray();
    expect(history.map((entry) => entry.version)).toEqual([1, 2, 3]);
  });

  it('uses no view of another generation, and a point-in-time read always reads the history', async () => {
    const order = new OrderEventStream();
    await apply(order.placed(), { here: false });
    const placed = await handler.execute(new GetOrderQuery(order.orderId));
    liveViews.record(target.generation + 1, {
      ...(await target.orderViews.findOne({ _id: orderViewIdOf(order.orderId) }))!,
      version: 7,
    });
    viewReads.length = 0;

    expect(await handler.execute(new GetOrderQuery(order.orderId))).toEqual(placed);
    expect(await handler.execute(new GetOrderQuery(order.orderId, { atVersion: 1 }))).toMatchObject(
      { version: 1 },
    );
    expect(viewReads).toHaveLength(2);
  });
});
