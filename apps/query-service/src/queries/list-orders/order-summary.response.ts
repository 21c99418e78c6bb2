import type { OrderStatus } from '@orders/contracts';
import type { OrderViewDocument } from '../../projections/order-view.document';

/** `OrderSummary` of the contract (§5): an OrderView without items, payment, shipment, cancellation. */
export interface OrderSummaryResponse {
  orderId: string;
  customerId: string;
  status: OrderStatus;
  currency: string;
  itemCount: number;
  total: number;
  placedAt: string;
  confirmedAt?: string;
  updatedAt: string;
  version: number;
}

export interface OrderListResponse {
  items: OrderSummaryResponse[];
  nextCursor: string | null;
}

/** The stored fields a summary needs; the list reads nothing else. */
export const orderSummaryProjection = {
  _id: 1,
  customerId: 1,
  status: 1,
  currency: 1,
  itemCount: 1,
  total: 1,
  placedAt: 1,
  confirmedAt: 1,
  updatedAt: 1,
  version: 1,
} as const;

export type OrderSummaryFields = Pick<OrderViewDocument, keyof typeof orderSummaryProjection>;

export function toOrderSummaryResponse(doc: OrderSummaryFields): OrderSummaryResponse {
  return {
    orderId: doc._id,
    customerId: doc.customerId,
    status: doc.status,
    currency: doc.currency,
    itemCount: doc.itemCount,
    total: doc.total,
    placedAt: doc.placedAt.toISOString(),
    ...(doc.confirmedAt && { confirmedAt: doc.confirmedAt.toISOString() }),
    updatedAt: doc.updatedAt.toISOString(),
    version: doc.version,
  };
}
