import type { OrderEventType } from '@orders/contracts';
import type { OrderHistoryDocument } from '../../projections/order-history.document';

/** One item of `GET /orders/{id}/history` (§5). */
export interface OrderHistoryItemResponse {
  version: number;
  type: OrderEventType;
  occurredAt: string;
  data: unknown;
  correlationId: string;
}

export function toOrderHistoryItemResponse(entry: OrderHistoryDocument): OrderHistoryItemResponse {
  return {
    version: entry.version,
    type: entry.type as OrderEventType,
    occurredAt: entry.occurredAt.toISOString(),
    data: entry.data,
    correlationId: entry.correlationId,
  };
}
