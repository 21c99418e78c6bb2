/**
 * One applied event of an order, as `GET /orders/{id}/history` and the point-in-time reads use
 * it: `_id` = `<orderId>:<version>`, inserted once (a duplicate key means already written) and
 * always before the order's view write, so the view's version says which entries are committed.
 */
export interface OrderHistoryDocument {
  _id: string;
  orderId: string;
  version: number;
  eventId: string;
  type: string;
  schemaVersion: number;
  position: string;
  occurredAt: Date;
  correlationId: string;
  causationId: string;
  data: unknown;
}
