import { Injectable } from '@nestjs/common';
import type { EventEnvelope } from '@orders/contracts';
import { orderViewIdOf } from '../projections/order-view.projection';
import type { ReadModelCollections } from '../read-store/read-model.collections';
import { ReadModelWriter } from '../read-store/read-model.writer';
import { ViewCache } from '../read-store/view-cache';
import { EventFeedClient, type FeedPage } from './event-feed.client';

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

/**
 * Reads the event feed from a checkpoint into one generation of the read models until the
 * feed has nothing more (a page shorter than asked for), or an earlier stop condition holds.
 * The caller guarantees it is the generation's only writer, so a page is applied as a batch:
 * views from a cache of what it wrote, all history entries first, then one write per order.
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
    const cache = new ViewCache();
    let prefetched: Promise<FeedPage> | null = null;
    for (;;) {
      options.signal.throwIfAborted();
      if (options.deadline !== undefined && Date.now() > options.deadline) {
        throw new CatchUpTimeoutError(`not caught up by the deadline (at ${checkpoint})`);
      }
      const page = await (prefetched ?? this.feed.readPage(cursor, options.pageSize));
      prefetched = null;
      if (page.events.length === options.pageSize) {
        // The feed reads the next page while this one is written.
        const next = this.feed.readPage(page.lastPosition, options.pageSize);
        next.catch(() => undefined);
        prefetched = next;
      }
      if (page.events.length > 0) {
        options.assertMayWrite?.();
        const runs = new Map(waiting);
        for (const event of page.events) {
          const id = orderViewIdOf(event.orderId);
          runs.set(id, [...(runs.get(id) ?? []), event]);
        }
        const results = await this.writer.applyRuns(target, [...runs.values()], cache);
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
