import type { Collection, Db, IndexDescription } from 'mongodb';
import type { OrderViewDocument } from '../projections/order-view.document';

export const ORDER_VIEWS_COLLECTION = 'order_views';

/**
 * Lists sort by placedAt desc, then orderId desc; each filter the list query accepts has an
 * index that serves both the filter and that sort.
 */
export const orderViewIndexes: IndexDescription[] = [
  { key: { customerId: 1, placedAt: -1, _id: -1 }, name: 'customer_placed_at' },
  { key: { status: 1, placedAt: -1, _id: -1 }, name: 'status_placed_at' },
  { key: { placedAt: -1, _id: -1 }, name: 'placed_at' },
];

export function orderViewsOf(db: Db): Collection<OrderViewDocument> {
  return db.collection<OrderViewDocument>(ORDER_VIEWS_COLLECTION);
}
