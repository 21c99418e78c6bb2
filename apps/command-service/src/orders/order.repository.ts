import { Injectable } from '@nestjs/common';
import type { EventEnvelope, OrderEvent } from '@orders/contracts';
import type { EntityManager } from 'typeorm';
import {
  OrderEventStore,
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

export interface LoadedOrder extends Pick<OrderStream, 'version' | 'lastPosition'> {
  state: OrderState;
}

/** Orders as the command side loads and saves them: snapshot + event tail. */
@Injectable()
export class OrderRepository {
  constructor(
    private readonly events: OrderEventStore,
    private readonly snapshots: SnapshotStore,
  ) {}

  async load(orderId: string): Promise<LoadedOrder> {
    const snapshot = await this.snapshots.read<OrderState>(orderId, ORDER_STATE_VERSION);
    const tail = await this.events.readStream(orderId, snapshot?.version ?? 0);
    return {
      state: tail.events.reduce(evolve, snapshot?.state ?? initialOrderState),
      version: tail.version,
      lastPosition: tail.lastPosition ?? snapshot?.position ?? null,
    };
  }

  /** Appends in the caller's transaction, and snapshots when the append crosses an interval. */
  async append(
    manager: EntityManager,
    orderId: string,
    order: LoadedOrder,
    events: readonly OrderEvent[],
    metadata: EventMetadata,
  ): Promise<EventEnvelope[]> {
    const appended = await this.events.appendToStream(manager, orderId, order, events, metadata);
    const last = appended.at(-1);
    if (
      last &&
      Math.floor(last.version / SNAPSHOT_INTERVAL) > Math.floor(order.version / SNAPSHOT_INTERVAL)
    ) {
      await this.snapshots.write(manager, orderId, ORDER_STATE_VERSION, {
        version: last.version,
        position: BigInt(last.position),
        state: events.reduce(evolve, order.state),
      });
    }
    return appended;
  }
}
