import type { OrderLine, OrderStatus } from '@orders/contracts';

/**
 * The stored read model behind `GET /orders/{id}`: one document per order, `_id` = orderId.
 * Times are BSON dates so range queries and sorts on them are exact.
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
}
