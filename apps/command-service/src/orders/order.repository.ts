import { Injectable } from '@nestjs/common';
import type { EventEnvelope, OrderEvent } from '@orders/contracts';
import type { EntityManager } from 'typeorm';
import {
  OrderEventStore,
  StreamVersionConflict,
  type EventMetadata,
  type OrderStream,
} from '../event-store/order-event-store';
import { SnapshotStore } from '../event-store/snapshot-store';
import { evolve } from './domain/order.decider';
import { initialOrderState, type OrderState } from './domain/order-state';

/** Bump when OrderState's shape changes: older snapshots are then ignored. */
const ORDER_STATE_VERSION = 1;
/** A snapshot every this many events keeps a load to at most this many rows. */
export const SNAPSHOT_INTERVAL = 100;

export interface OrderAppend {
  orderId: string;
  order: LoadedOrder;
  events: readonly OrderEvent[];
  metadata: EventMetadata;
}

export interface LoadedOrder extends Pick<OrderStream, 'version' | 'lastPosition'> {
  state: OrderState;
}

/** Orders whose state is remembered after this replica wrote their last events. */
const REMEMBERED_ORDERS = 10_000;

/** Orders as the command side loads and saves them: snapshot + event tail. */
@Injectable()
export class OrderRepository {
  private readonly recent = new Map<string, LoadedOrder>();

  constructor(
    private readonly events: OrderEventStore,
    private readonly snapshots: SnapshotStore,
  ) {}

  /**
   * The order as this replica last wrote it, if it is among the most recently written. It may
   * be stale (another replica wrote since): an append on it then fails its version check.
   */
  remembered(orderId: string): LoadedOrder | undefined {
    return this.recent.get(orderId);
  }

  /** An order with no events yet. */
  unwritten(): LoadedOrder {
    return { state: initialOrderState, version: 0, lastPosition: null };
  }

  /** Remembers an order after a committed append (the least recently written is forgotten). */
  remember(
    orderId: string,
    before: LoadedOrder,
    events: readonly OrderEvent[],
    last: EventEnvelope,
  ): void {
    this.recent.delete(orderId);
    this.recent.set(orderId, {
      state: events.reduce(evolve, before.state),
      version: last.version,
      lastPosition: BigInt(last.position),
    });
    if (this.recent.size > REMEMBERED_ORDERS) {
      const oldest = this.recent.keys().next();
      if (!oldest.done) this.recent.delete(oldest.value);
    }
  }

  async load(orderId: string): Promise<LoadedOrder> {
    const snapshot = await this.snapshots.read<OrderState>(orderId, ORDER_STATE_VERSION);
    const tail = await this.events.readStream(orderId, snapshot?.version ?? 0);
    return {
      state: tail.events.reduce(evolve, snapshot?.state ?? initialOrderState),
      version: tail.version,
      lastPosition: tail.lastPosition ?? snapshot?.position ?? null,
    };
  }

  /** True when appending these events makes a snapshot due, which `append` writes with them. */
  snapshotsDue(appends: readonly Pick<OrderAppend, 'order' | 'events'>[]): boolean {
    return appends.some(({ order, events }) =>
      crossesSnapshotInterval(order.version, order.version + events.length),
    );
  }

  /**
   * Appends each order's events in the caller's transaction (one statement for all of them),
   * and snapshots the orders whose append crosses an interval. An order another writer had
   * moved on gets its StreamVersionConflict back, and nothing is written for it.
   */
  async append(
    manager: EntityManager,
    appends: readonly OrderAppend[],
  ): Promise<(EventEnvelope[] | StreamVersionConflict)[]> {
    const appended = await this.events.appendToStreams(
      manager,
      appends.map(({ orderId, order, events, metadata }) => ({
        orderId,
        stream: order,
        events,
        metadata,
      })),
    );
    for (const [i, { orderId, order, events }] of appends.entries()) {
      const stored = appended[i];
      const last = stored instanceof StreamVersionConflict ? undefined : stored?.at(-1);
      if (last && crossesSnapshotInterval(order.version, last.version)) {
        await this.snapshots.write(manager, orderId, ORDER_STATE_VERSION, {
          version: last.version,
          position: BigInt(last.position),
          state: events.reduce(evolve, order.state),
        });
      }
    }
    return appended;
  }
}

function crossesSnapshotInterval(before: number, after: number): boolean {
  return Math.floor(after / SNAPSHOT_INTERVAL) > Math.floor(before / SNAPSHOT_INTERVAL);
}
