import type { CommandStartedEvent } from 'mongodb';
import { OrderVersionNotifier } from '../apps/query-service/src/consistency/order-version.notifier';
import { ReadYourWritesWaiter } from '../apps/query-service/src/consistency/read-your-writes.waiter';
import { orderViewIdOf } from '../apps/query-service/src/projections/order-view.projection';
import { LiveViews } from '../apps/query-service/src/read-store/live-views';
import type { ReadModelGenerations } from '../apps/query-service/src/read-store/read-model-generations';
import { ReadModelWriter } from '../apps/query-service/src/read-store/read-model.writer';
import { openMonitoredReadStore, type MonitoredReadStore } from './support/monitored-read-store';
import { OrderEventStream } from './support/order-event.stream';
import { applyOneEvent } from './support/apply-one-event';

/**
 * A read that waits for a consistency token sees a write applied by another replica's
 * consumer (it polls the store) and one applied here at once (it is notified), without
 * polling the store so often that waiting reads starve the projection they wait for.
 */
describe('read-your-writes waiter', () => {
  let monitored: MonitoredReadStore;
  let generations: ReadModelGenerations;
  let notifier: OrderVersionNotifier;
  let waiter: ReadYourWritesWaiter;
  // The polls: every view read the store was sent.
  let viewReads: CommandStartedEvent[];

  beforeAll(async () => {
    monitored = await openMonitoredReadStore('ryw_waiter');
    ({ generations, viewReads } = monitored);
    notifier = new OrderVersionNotifier();
    waiter = new ReadYourWritesWaiter(generations, notifier, new LiveViews());
  });

  afterAll(async () => {
    await monitored?.close();
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
    await applyOneEvent(new ReadModelWriter(), target, remote.placed());
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
