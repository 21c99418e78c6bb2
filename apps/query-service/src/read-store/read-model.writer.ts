import { Injectable, Optional } from '@nestjs/common';
import type { EventEnvelope } from '@orders/contracts';
import { GroupWriter } from '@orders/platform';
import { MongoBulkWriteError, MongoServerError } from 'mongodb';
import { orderHistoryEntryOf } from '../projections/order-history.projection';
import type { OrderViewDocument } from '../projections/order-view.document';
import {
  evolveOrderView,
  OrderViewProjectionError,
  orderViewIdOf,
} from '../projections/order-view.projection';
import { LiveViews } from './live-views';
import type { ReadModelCollections } from './read-model.collections';
import { isReadStoreUnavailable } from './read-store-unavailable';

/** What applying a run of one order's events did. */
export interface OrderRunResult {
  orderId: string;
  /** The order's version in the store afterwards. */
  version: number;
  /** The view as this run left it in the store (or found it, when it wrote nothing). */
  view: OrderViewDocument | null;
  applied: EventEnvelope[];
  /** Events after a missing version, in version order: they must wait for it. */
  waiting: EventEnvelope[];
}

const DUPLICATE_KEY = 11000;

interface LiveRun {
  target: ReadModelCollections;
  envelopes: EventEnvelope[];
}

/**
 * Views a write may start from instead of reading them first. A hint only: the view write is
 * version-checked, so a stale one costs a read, never a wrong view. `set` and `forget` are for
 * a cache the writer keeps itself (a rebuild's).
 */
export interface ViewHints {
  get(orderId: string): OrderViewDocument | undefined;
  set?(view: OrderViewDocument): void;
  forget?(orderId: string): void;
}

/** Orders read or written side by side within one batch. */
const BATCH_CONCURRENCY = 8;

/** Writes in flight at once; runs arriving meanwhile wait and share the next one. */
const CONCURRENT_WRITES = 2;
const MAX_RUNS_PER_WRITE = 256;

/**
 * Applies events to one generation of the read models, exactly once and in version order.
 *
 * Per order: (1) read the view (or, in a rebuild, take the one it wrote last); (2) fold
 * the next events with the pure projection; (3) insert one history document per event (a
 * duplicate key means a previous attempt wrote it); (4) write the view, version-checked, as the
 * last write: the commit marker. A crash between (3) and (4) leaves history entries above the
 * view's version, which readers ignore and the redelivery completes. Every document written
 * belongs to this one order, and callers guarantee one writer per order at a time (FerretDB
 * updates are read-modify-write); the version filter still refuses a write based on a stale
 * read.
 */
@Injectable()
export class ReadModelWriter {
  /**
   * `liveViews`: the views the consumer wrote this session, the live path's hints. The
   * consumer, not the writer, records them: only it knows whether its session is still open.
   */
  constructor(@Optional() private readonly liveViews?: LiveViews) {}

  /**
   * Applies a run of one order's delivered events (what the consumer holds of it) with one
   * view write. Runs of other orders that arrive meanwhile share its writes (group apply,
   * below); the caller applies one run per order at a time.
   */
  applyLiveRun(target: ReadModelCollections, envelopes: EventEnvelope[]): Promise<OrderRunResult> {
    return this.groupApply.write({ target, envelopes });
  }

  /**
   * Group apply, the read side's group commit: runs of different orders that arrive while
   * earlier writes are in flight are applied together (applyRuns), so a busy consumer writes
   * the history once per batch instead of once per event. A batch holds one run per order
   * and one generation.
   */
  private readonly groupApply = new GroupWriter<LiveRun, OrderRunResult>({
    writeTogether: async (runs) => {
      const target = (runs[0] as LiveRun).target;
      const liveViews = this.liveViews;
      const hints = liveViews && { get: (id: string) => liveViews.get(target.generation, id) };
      return this.applyRuns(
        target,
        runs.map((run) => run.envelopes),
        hints,
      );
    },
    concurrency: CONCURRENT_WRITES,
    maxBatch: MAX_RUNS_PER_WRITE,
    groupOf: (run) => run.target,
    keyOf: (run) => orderViewIdOf(run.envelopes[0]?.orderId ?? ''),
    failsEveryItem: isReadStoreUnavailable,
  });

  /** Applies a run of events of one order (any order, duplicates allowed) with one view write. */
  async applyOrderRun(
    target: ReadModelCollections,
    envelopes: EventEnvelope[],
  ): Promise<OrderRunResult> {
    const first = envelopes[0];
    if (!first) throw new Error('applyOrderRun needs at least one event');
    const orderId = orderViewIdOf(first.orderId);
    for (;;) {
      const current = await target.orderViews.findOne({ _id: orderId });
      const { next, applied, waiting } = foldRun(orderId, current, envelopes);
      if (next === null || next === current) {
        return { orderId, version: current?.version ?? 0, view: current, applied: [], waiting };
      }
      await this.insertHistory(target, applied);
      if (await this.writeView(target, current, next)) {
        return { orderId, version: next.version, view: next, applied, waiting };
      }
      // Someone else wrote the view between our read and write: decide again on fresh state.
    }
  }

  /**
   * Applies runs of many orders (one run per order) together: all history entries go in one
   * `insertMany` before any view is written, new views in one `insertMany`, changed ones
   * version-checked one by one. Anything unexpected (a view written by someone else) falls
   * back to applyOrderRun for that order. `hints` (views written before) save the reads of
   * the orders they hold, and a new order's view is not read at all.
   */
  async applyRuns(
    target: ReadModelCollections,
    runs: EventEnvelope[][],
    hints?: ViewHints,
  ): Promise<OrderRunResult[]> {
    // One findOne per order, a few at a time: `{_id}` is an index lookup, while FerretDB filters
    // `{_id: {$in}}` in its own code after reading the whole collection (150 ms at 3,000 views).
    const folded = await inBatches(runs, async (run) => {
      const orderId = orderViewIdOf(run[0]?.orderId ?? '');
      const cached = hints?.get(orderId);
      if (cached) {
        const extended = foldRun(orderId, cached, run);
        if (extended.applied.length > 0 && extended.waiting.length === 0) {
          return { run, ...extended };
        }
      }
      // A run holding an order's first event creates its view, so it is not read first: should
      // the view exist (a redelivery), the insert's duplicate key sends the order to the
      // fallback below.
      const current = run.some((event) => event.version === 1)
        ? null
        : await target.orderViews.findOne({ _id: orderId });
      return { run, ...foldRun(orderId, current, run) };
    });
    const changed = folded.filter((order) => order.next !== order.current);
    await this.insertHistory(
      target,
      changed.flatMap((order) => order.applied),
    );

    const fallback = new Set<(typeof folded)[number]>();
    const created = changed.filter((order) => order.current === null);
    if (created.length > 0) {
      try {
        await target.orderViews.insertMany(
          created.map((order) => order.next as OrderViewDocument),
          { ordered: false },
        );
      } catch (error) {
        for (const index of duplicatesOnly(error, created.length)) {
          const order = created[index];
          if (order) fallback.add(order);
        }
      }
    }
    await inBatches(
      changed.filter((order) => order.current !== null),
      async (order) => {
        const { current, next } = order as { current: OrderViewDocument; next: OrderViewDocument };
        const { matchedCount } = await target.orderViews.replaceOne(
          { _id: current._id, version: current.version },
          next,
        );
        if (matchedCount !== 1) fallback.add(order);
      },
    );

    return inBatches(folded, async (order) => {
      if (fallback.has(order)) {
        hints?.forget?.(order.orderId);
        return this.applyOrderRun(target, order.run);
      }
      if (order.next !== null) hints?.set?.(order.next);
      return {
        orderId: order.orderId,
        version: order.next?.version ?? 0,
        view: order.next,
        applied: order.applied,
        waiting: order.waiting,
      };
    });
  }

  private async insertHistory(
    target: ReadModelCollections,
    envelopes: EventEnvelope[],
  ): Promise<void> {
    if (envelopes.length === 0) return;
    const entries = envelopes.map(orderHistoryEntryOf);
    try {
      await target.orderHistory.insertMany(entries, { ordered: false });
    } catch (error) {
      // Written by an earlier attempt; it must be the very same event.
      for (const index of duplicatesOnly(error, entries.length)) {
        const entry = entries[index];
        if (!entry) throw error;
        const stored = await target.orderHistory.findOne(
          { _id: entry._id },
          { projection: { eventId: 1 } },
        );
        if (stored !== null && stored.eventId !== entry.eventId) {
          throw new OrderViewProjectionError(
            `${entry.type} v${entry.version} of order ${entry.orderId} is event ${entry.eventId}, but the history holds event ${stored.eventId} at that version`,
          );
        }
      }
    }
  }

  /** True when the write took; false when the view is no longer what it was read as. */
  private async writeView(
    target: ReadModelCollections,
    current: OrderViewDocument | null,
    next: OrderViewDocument,
  ): Promise<boolean> {
    if (current === null) {
      try {
        await target.orderViews.insertOne(next);
        return true;
      } catch (error) {
        if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) return false;
        throw error;
      }
    }
    const { matchedCount } = await target.orderViews.replaceOne(
      { _id: current._id, version: current.version },
      next,
    );
    return matchedCount === 1;
  }
}

/**
 * The indexes of the documents an unordered `insertMany` of `count` found stored already
 * (duplicate `_id`), every other one having been inserted; any other failure is thrown again.
 * The driver wraps every failure of the command itself (a dropped connection, a server that
 * is stopping) in a MongoBulkWriteError too, with no write errors: taken for "duplicates
 * only", it let an event be acked whose view was never written (seen when FerretDB stopped
 * during a view insert). The failure it wraps is thrown, so that an outage is seen as one.
 */
function duplicatesOnly(error: unknown, count: number): number[] {
  if (!(error instanceof MongoBulkWriteError)) throw error;
  const writeErrors = [error.writeErrors].flat();
  const onlyDuplicates =
    writeErrors.length > 0 &&
    writeErrors.every((writeError) => writeError.code === DUPLICATE_KEY) &&
    error.insertedCount + writeErrors.length === count;
  if (!onlyDuplicates) throw error.errorResponse instanceof Error ? error.errorResponse : error;
  return writeErrors.map((writeError) => writeError.index);
}

/** Folds the next events of one order onto its view: pure, no I/O. */
function foldRun(
  orderId: string,
  current: OrderViewDocument | null,
  envelopes: EventEnvelope[],
): {
  orderId: string;
  current: OrderViewDocument | null;
  next: OrderViewDocument | null;
  applied: EventEnvelope[];
  waiting: EventEnvelope[];
} {
  let next = current;
  const applied: EventEnvelope[] = [];
  const waiting: EventEnvelope[] = [];
  for (const envelope of [...envelopes].sort((a, b) => a.version - b.version)) {
    if (orderViewIdOf(envelope.orderId) !== orderId) {
      throw new Error(`run of order ${orderId} holds an event of ${envelope.orderId}`);
    }
    const version = next?.version ?? 0;
    if (waiting.length > 0 || envelope.version > version + 1) waiting.push(envelope);
    else if (envelope.version === version + 1) {
      next = evolveOrderView(next, envelope);
      applied.push(envelope);
    }
  }
  return { orderId, current, next, applied, waiting };
}

/** Runs `work` over the items a few at a time; waits for every started one before failing. */
async function inBatches<T, R>(items: T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const workers = Array.from({ length: Math.min(BATCH_CONCURRENCY, items.length) }, async () => {
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
