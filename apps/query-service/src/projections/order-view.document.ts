import type { OrderLine, OrderStatus } from '@orders/contracts';
import type { DailyCounterEntry, ProductCounterEntry } from './order-stats.counters';

/**
 * The stored read model behind `GET /orders/{id}`, the order lists and the stats: one document
 * per order, `_id` = orderId. Times are BSON dates so range queries and sorts on them are exact.
 * Its version-checked write is the last write of every event: the commit marker that makes the
 * event's history entry and stats contributions visible.
 */
export interface OrderViewDocument {
  _id: string;
  customerId: string;
  status: OrderStatus;
  currency: string;
  items: OrderLine[];
  itemCount: number;
  total: number;
  payment?: { paymentId: string; amount: number; paidAt: Date };
  shipment?: { carrier: string; trackingNumber: string; shippedAt: Date };
  cancellation?: {
    reason: string;
    cancelledAt: Date;
    previousStatus: Exclude<OrderStatus, 'cancelled' | 'shipped'>;
  };
  placedAt: Date;
  confirmedAt?: Date;
  updatedAt: Date;
  /** The order's version after the last applied event: the projection's dedupe and order key. */
  version: number;
  /** Last applied event, kept for operators and projection-lag measurement. */
  lastEventId: string;
  lastPosition: string;
  /** `lastPosition` zero-padded to 20 digits, so the newest applied position sorts as text. */
  positionKey: string;
  /** What this order adds to `GET /stats/daily`, appended by the events that count. */
  dailyCounters: DailyCounterEntry[];
  /** What this order adds to `GET /stats/products`: its lines while confirmed, paid or shipped. */
  productCounters: ProductCounterEntry[];
}
