import type { OrderLine, OrderStatus } from '@orders/contracts';
import type { OrderViewDocument } from '../../projections/order-view.document';

/** `OrderView` of the contract (§5): what `GET /orders/{id}` answers. Times are ISO-8601 UTC. */
export interface OrderViewResponse {
  orderId: string;
  customerId: string;
  status: OrderStatus;
  currency: string;
  items: OrderLine[];
  itemCount: number;
  total: number;
  payment?: { paymentId: string; amount: number; paidAt: string };
  shipment?: { carrier: string; trackingNumber: string; shippedAt: string };
  cancellation?: { reason: string; cancelledAt: string; previousStatus: OrderStatus };
  placedAt: string;
  confirmedAt?: string;
  updatedAt: string;
  version: number;
}

/** Field by field, so storage-only fields (`_id`, `lastEventId`, ...) never leak out. */
export function toOrderViewResponse(doc: OrderViewDocument): OrderViewResponse {
  return {
    orderId: doc._id,
    customerId: doc.customerId,
    status: doc.status,
    currency: doc.currency,
    items: doc.items.map(({ sku, quantity, unitPrice, lineTotal }) => ({
      sku,
      quantity,
      unitPrice,
      lineTotal,
    })),
    itemCount: doc.itemCount,
    total: doc.total,
    ...(doc.payment && {
      payment: {
        paymentId: doc.payment.paymentId,
        amount: doc.payment.amount,
        paidAt: doc.payment.paidAt.toISOString(),
      },
    }),
    ...(doc.shipment && {
      shipment: {
        carrier: doc.shipment.carrier,
        trackingNumber: doc.shipment.trackingNumber,
        shippedAt: doc.shipment.shippedAt.toISOString(),
      },
    }),
    ...(doc.cancellation && {
      cancellation: {
        reason: doc.cancellation.reason,
        cancelledAt: doc.cancellation.cancelledAt.toISOString(),
        previousStatus: doc.cancellation.previousStatus,
      },
    }),
    placedAt: doc.placedAt.toISOString(),
    ...(doc.confirmedAt && { confirmedAt: doc.confirmedAt.toISOString() }),
    updatedAt: doc.updatedAt.toISOString(),
    version: doc.version,
  };
}
