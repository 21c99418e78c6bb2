import { Injectable } from '@nestjs/common';
import type { OrderViewDocument } from '../projections/order-view.document';
import { ViewCache } from './view-cache';

/** Views kept; the soak reports the memory this costs under load. */
const CAPACITY = 10_000;

/**
 * The views this replica's consumer wrote to the active generation in its current consumer
 * session (bounded: the least recently written go first). `GET /orders/{id}` and
 * read-your-writes waits answer from here instead of a read-store round trip.
 *
 * Why a view here is the stored one: under single-active-consumer this session is the only
 * writer of live events, and a dead-letter replay goes through the queue to that same writer.
 * Another replica writes only once the broker has moved the queue to it, i.e. once this session
 * has ended, and the consumer clears this cache when its session ends or starts. A rebuild
 * writes another generation; entries are for one generation, and recording a view of another
 * one starts afresh. What the cache can never say is too new: every entry was written to the
 * store, whose versions only grow. So a reader that needs at least version v (a consistency
 * token) may trust an entry at v or later, and otherwise reads the store; a reader without a
 * token gets what this replica applied last, as it would from the store.
 *
 * The writer starts from these views too (ReadModelWriter's hints); its version-checked write
 * turns a stale one into a miss and a fresh read.
 */
@Injectable()
export class LiveViews {
  private generation: number | null = null;
  private views = new ViewCache(CAPACITY);

  /** The view of `orderId` this session wrote last, if it is of `generation` and at least `atLeast`. */
  get(generation: number, orderId: string, atLeast = 0): OrderViewDocument | undefined {
    if (generation !== this.generation) return undefined;
    const view = this.views.peek(orderId);
    return view !== undefined && view.version >= atLeast ? view : undefined;
  }

  /** Called by the consumer right after the write of `view` to `generation` took. */
  record(generation: number, view: OrderViewDocument): void {
    if (generation !== this.generation) {
      this.clear();
      this.generation = generation;
    }
    this.views.set(view);
  }

  /** Called when a write of the order failed or found the store ahead: the store decides. */
  forget(orderId: string): void {
    this.views.forget(orderId);
  }

  /** Called when the consumer session starts or ends: another replica may write from now on. */
  clear(): void {
    this.generation = null;
    this.views = new ViewCache(CAPACITY);
  }
}
