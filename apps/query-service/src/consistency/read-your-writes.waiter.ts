import { Injectable } from '@nestjs/common';
import { orderViewIdOf } from '../projections/order-view.projection';
import { LiveViews } from '../read-store/live-views';
import { ReadModelGenerations } from '../read-store/read-model-generations';
import { OrderVersionNotifier } from './order-version.notifier';

/**
 * Another replica may be the active consumer, so the store is polled as well as listened to.
 * While this replica's consumer applies events (it is the active one), its notification ends
 * the wait and a poll every second is only a safety net; otherwise the pause doubles from the
 * first poll to the last. Hundreds of reads waiting at once, each polling every 20 ms, took the
 * read store's capacity from the very projection they waited for.
 */
const FIRST_POLL_INTERVAL_MS = 10;
const LONGEST_POLL_INTERVAL_MS = 250;
const SAFETY_POLL_INTERVAL_MS = 1_000;

/** Waits until the read side reflects a write, for every query that accepts a consistency token. */
@Injectable()
export class ReadYourWritesWaiter {
  constructor(
    private readonly generations: ReadModelGenerations,
    private readonly notifier: OrderVersionNotifier,
    private readonly liveViews: LiveViews,
  ) {}

  /** True once the order's view is at `version` or later; false if `timeoutMs` passed first. */
  async waitForOrderVersion(
    orderId: string,
    version: number,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const id = orderViewIdOf(orderId);
    const deadline = Date.now() + timeoutMs;
    let reached = false;
    let wake: () => void = () => undefined;
    const stopListening = this.notifier.onOrderVersion(id, (applied) => {
      if (applied >= version) {
        reached = true;
        wake();
      }
    });
    try {
      for (let interval = FIRST_POLL_INTERVAL_MS; ;) {
        if (reached || (await this.orderViewReached(id, version))) return true;
        const remaining = deadline - Date.now();
        if (remaining <= 0 || signal?.aborted) return false;
        const pause = Math.min(
          this.notifier.appliesEvents(SAFETY_POLL_INTERVAL_MS) ? SAFETY_POLL_INTERVAL_MS : interval,
          remaining,
        );
        interval = Math.min(interval * 2, LONGEST_POLL_INTERVAL_MS);
        await new Promise<void>((resolve) => {
          if (reached) {
            resolve(); // notified while the poll was on its way
            return;
          }
          const timer = setTimeout(resolve, pause);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } finally {
      stopListening();
    }
  }

  private async orderViewReached(id: string, version: number): Promise<boolean> {
    const { generation, orderViews } = await this.generations.forReading();
    // This replica wrote it (LiveViews holds only what reached the store): no round trip.
    if (this.liveViews.get(generation, id, version) !== undefined) return true;
    const found = await orderViews.findOne(
      { _id: id, version: { $gte: version } },
      { projection: { _id: 1 } },
    );
    return found !== null;
  }
}
