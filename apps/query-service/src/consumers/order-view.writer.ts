import { Injectable } from '@nestjs/common';
import type { EventEnvelope } from '@orders/contracts';
import { MongoServerError } from 'mongodb';
import { evolveOrderView, orderViewIdOf } from '../projections/order-view.projection';
import { ReadStore } from '../read-store/read-store.service';

export type ApplyOutcome =
  | { kind: 'applied'; orderId: string; version: number }
  | { kind: 'duplicate'; orderId: string; version: number }
  /** An earlier event of this order has not been applied yet; this one must wait. */
  | { kind: 'gap'; orderId: string; version: number };

const DUPLICATE_KEY = 11000;

/**
 * Applies one event to its order's view, exactly once and in version order. The callers
 * serialize per order; the conditional writes still refuse a write based on a stale read,
 * e.g. from a replica that lost the single-active-consumer role mid-write.
 */
@Injectable()
export class OrderViewWriter {
  constructor(private readonly readStore: ReadStore) {}

  async applyOrderEvent(envelope: EventEnvelope): Promise<ApplyOutcome> {
    const orderId = orderViewIdOf(envelope.orderId);
    const views = this.readStore.orderViews;
    for (;;) {
      const current = await views.findOne({ _id: orderId });
      const version = current?.version ?? 0;
      if (envelope.version <= version) return { kind: 'duplicate', orderId, version };
      if (envelope.version > version + 1) return { kind: 'gap', orderId, version };

      const next = evolveOrderView(current, envelope);
      if (current === null) {
        try {
          await views.insertOne(next);
          return { kind: 'applied', orderId, version: next.version };
        } catch (error) {
          if (!(error instanceof MongoServerError && error.code === DUPLICATE_KEY)) throw error;
        }
      } else {
        const { matchedCount } = await views.replaceOne({ _id: orderId, version }, next);
        if (matchedCount === 1) return { kind: 'applied', orderId, version: next.version };
      }
      // Someone else wrote the document between our read and write: decide again on fresh state.
    }
  }
}
