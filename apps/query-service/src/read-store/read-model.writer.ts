import { Injectable } from '@nestjs/common';
import type { EventEnvelope } from '@orders/contracts';
import { MongoBulkWriteError, MongoServerError } from 'mongodb';
import { orderHistoryEntryOf } from '../projections/order-history.projection';
import type { OrderViewDocument } from '../projections/order-view.document';
import {
  evolveOrderView,
  OrderViewProjectionError,
  orderViewIdOf,
} from '../projections/order-view.projection';
import type { ReadModelCollections } from './read-model.collections';

export type ApplyOutcome =
  | { kind: 'applied'; orderId: string; version: number }
  | { kind: 'duplicate'; orderId: string; version: number }
  /** An earlier event of this order has not been applied yet; this one must wait. */
  | { kind: 'gap'; orderId: string; version: number };

/** What applying a run of one order's events did. */
export interface OrderRunResult {
  orderId: string;
  /** The order's version in the store afterwards. */
  version: number;
  applied: EventEnvelope[];
  /** Events after a missing version, in version order: they must wait for it. */
  waiting: EventEnvelope[];
}

const DUPLICATE_KEY = 11000;

/**
 * Applies events to one generation of the read models, exactly once and in version order.
 *
 * Per order: (1) read the view; (2) fold the next events with the pure projection; (3) insert
 * one history document per event (a duplicate key means a previous attempt wrote it); (4) write
 * the view, version-checked, as the last write: the commit marker. A crash between (3) and (4)
 * leaves history entries above the view's version, which readers ignore and the redelivery
 * completes. Every document written belongs to this one order, and callers guarantee one
 * writer per order at a time (FerretDB updates are read-modify-write); the version filter
 * still refuses a write based on a stale read.
 */
@Injectable()
export class ReadModelWriter {
  async applyOrderEvent(
    target: ReadModelCollections,
    envelope: EventEnvelope,
  ): Promise<ApplyOutcome> {
    const { orderId, version, applied, waiting } = await this.applyOrderRun(target, [envelope]);
    if (applied.length > 0) return { kind: 'applied', orderId, version };
    return waiting.length > 0
      ? { kind: 'gap', orderId, version }
      : { kind: 'duplicate', orderId, version };
  }

  /** Applies a run of events of one order (any order, duplicates allowed) with one view write. */
  async applyOrderRun(
    target: ReadModelCollections,
    envelopes: EventEnvelope[],
  ): Promise<OrderRunResult> {
    const first = envelopes[0];
    if (!first) throw new Error('applyOrderRun needs at least one event');
    const orderId = orderViewIdOf(first.orderId);
    const sorted = [...envelopes].sort((a, b) => a.version - b.version);
    for (;;) {
      const current = await target.orderViews.findOne({ _id: orderId });
      let next: OrderViewDocument | null = current;
      const applied: EventEnvelope[] = [];
      const waiting: EventEnvelope[] = [];
      for (const envelope of sorted) {
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
      if (next === null || next === current) {
        return { orderId, version: current?.version ?? 0, applied: [], waiting };
      }
      await this.insertHistory(target, applied);
      if (await this.writeView(target, current, next)) {
        return { orderId, version: next.version, applied, waiting };
      }
      // Someone else wrote the view between our read and write: decide again on fresh state.
    }
  }

  private async insertHistory(
    target: ReadModelCollections,
    envelopes: EventEnvelope[],
  ): Promise<void> {
    const entries = envelopes.map(orderHistoryEntryOf);
    try {
      await target.orderHistory.insertMany(entries, { ordered: false });
    } catch (error) {
      if (!(error instanceof MongoBulkWriteError)) throw error;
      const errors = [error.writeErrors].flat();
      if (errors.some((writeError) => writeError.code !== DUPLICATE_KEY)) throw error;
      // Written by an earlier attempt; it must be the very same event.
      for (const writeError of errors) {
        const entry = entries[writeError.index];
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
