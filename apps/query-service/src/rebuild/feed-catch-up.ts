import { Injectable } from '@nestjs/common';
import type { EventEnvelope } from '@orders/contracts';
import { orderViewIdOf } from '../projections/order-view.projection';
import type { ReadModelCollections } from '../read-store/read-model.collections';
import { ReadModelWriter } from '../read-store/read-model.writer';
import { EventFeedClient } from './event-feed.client';

export interface CatchUpOptions {
  pageSize: number;
  signal: AbortSignal;
  /** Give up (throwing CatchUpTimeoutError) once this instant has passed. */
  deadline?: number;
  /** Stop once every event at or below this position is applied (as well as at the feed's end). */
  until?: bigint;
  /** Stop once a page's newest event is younger than this: close enough to the live stream. */
  recentWithinMs?: number;
  /** Throws when the caller may no longer write (e.g. it lost the rebuild lock). */
  assertMayWrite?: () => void;
  /** After each page is fully applied: persist the checkpoint here. */
  onPage?: (progress: CatchUpProgress) => Promise<void>;
}

export interface CatchUpProgress {
  /** Every event at or below it is applied; resume after it. */
  checkpoint: string;
  /** Events applied by this page. */
  applied: number;
}

export interface CatchUpResult {
  checkpoint: string;
  applied: number;
  /** Events still waiting for a predecessor the feed has not shown (none in a sound feed). */
  waiting: number;
}

export class CatchUpTimeoutError extends Error {
  override readonly name = 'CatchUpTimeoutError';
}

/** Orders applied side by side within a page; each order's events stay in one serial run. */
const ORDER_CONCURRENCY = 8;

/**
 * Reads the event feed from a checkpoint into one generation of the read models until the
 * feed has nothing more (a page shorter than asked for), or an earlier stop condition holds. Each page is applied per order, one
 * run of events and one view write per order, through the same writer as live events. The
 * caller guarantees it is the generation's only writer.
 */
@Injectable()
export class FeedCatchUp {
  constructor(
    private readonly feed: EventFeedClient,
    private readonly writer: ReadModelWriter,
  ) {}

  async run(
    target: ReadModelCollections,
    from: string,
    options: CatchUpOptions,
  ): Promise<CatchUpResult> {
    let cursor = from;
    let checkpoint = from;
    let applied = 0;
    let waiting = new Map<string, EventEnvelope[]>();
    for (;;) {
      options.signal.throwIfAborted();
      if (options.deadline !== undefined && Date.now() > options.deadline) {
        throw new CatchUpTimeoutError(`not caught up by the deadline (at ${checkpoint})`);
      }
      const page = await this.feed.readPage(cursor, options.pageSize);
      if (page.events.length > 0) {
        options.assertMayWrite?.();
        const runs = new Map(waiting);
        for (const event of page.events) {
          const id = orderViewIdOf(event.orderId);
          runs.set(id, [...(runs.get(id) ?? []), event]);
        }
        const results = await inParallel([...runs.values()], ORDER_CONCURRENCY, (run) =>
          this.writer.applyOrderRun(target, run),
        );
        const pageApplied = results.reduce((sum, result) => sum + result.applied.length, 0);
        waiting = new Map(
          results.filter((result) => result.waiting.length > 0).map((r) => [r.orderId, r.waiting]),
        );
        applied += pageApplied;
        cursor = page.lastPosition;
        checkpoint = waiting.size === 0 ? cursor : positionBefore(oldestPosition(waiting));
        await options.onPage?.({ checkpoint, applied: pageApplied });
      }
      const newest = page.events.at(-1);
      const done =
        page.events.length < options.pageSize ||
        (options.until !== undefined &&
          waiting.size === 0 &&
          BigInt(checkpoint) >= options.until) ||
        (options.recentWithinMs !== undefined &&
          newest !== undefined &&
          Date.now() - Date.parse(newest.occurredAt) < options.recentWithinMs);
      if (done) return { checkpoint, applied, waiting: [...waiting.values()].flat().length };
    }
  }
}

function oldestPosition(waiting: Map<string, EventEnvelope[]>): bigint {
  let oldest: bigint | null = null;
  for (const events of waiting.values()) {
    for (const event of events) {
      const position = BigInt(event.position);
      if (oldest === null || position < oldest) oldest = position;
    }
  }
  return oldest ?? 0n;
}

function positionBefore(position: bigint): string {
  return (position > 0n ? position - 1n : 0n).toString();
}

/**
 * Runs `work` over the items, `concurrency` at a time. On a failure it stops starting new work
 * and waits for the started ones before throwing: nothing keeps writing once the caller stops.
 */
async function inParallel<T, R>(
  items: T[],
  concurrency: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length && !failed) {
      const index = next++;
      try {
        results[index] = await work(items[index] as T);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  });
  const settled = await Promise.allSettled(workers);
  const failure = settled.find((outcome) => outcome.status === 'rejected');
  if (failure) throw failure.reason;
  return results;
}
