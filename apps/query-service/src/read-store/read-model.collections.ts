import type { Collection, Db, IndexDescription } from 'mongodb';
import type { OrderHistoryDocument } from '../projections/order-history.document';
import type { OrderViewDocument } from '../projections/order-view.document';

/**
 * The read models of one generation. A rebuild fills a new generation while the active one
 * keeps serving; `ReadModelGenerations` names the active one.
 */
export interface ReadModelCollections {
  generation: number;
  orderViews: Collection<OrderViewDocument>;
  orderHistory: Collection<OrderHistoryDocument>;
}

export const ORDER_VIEWS_COLLECTION = 'order_views';
export const ORDER_HISTORY_COLLECTION = 'order_history';

/**
 * Lists sort by placedAt desc, then orderId desc: each list filter has an index serving both.
 * The stats match on the counted status / the counters' days per currency before unwinding.
 * (FerretDB 1.24 scans for these whatever the index, see apps/query-service/README.md; MongoDB
 * uses them.)
 */
export const orderViewIndexes: IndexDescription[] = [
  { key: { customerId: 1, placedAt: -1, _id: -1 }, name: 'customer_placed_at' },
  { key: { status: 1, placedAt: -1, _id: -1 }, name: 'status_placed_at' },
  { key: { placedAt: -1, _id: -1 }, name: 'placed_at' },
  { key: { status: 1, currency: 1 }, name: 'product_stats' },
  { key: { currency: 1, 'dailyCounters.day': 1 }, name: 'daily_stats' },
  // The newest applied position, which bounds a rebuild's final catch-up.
  { key: { positionKey: -1 }, name: 'position' },
];

export const orderHistoryIndexes: IndexDescription[] = [
  { key: { orderId: 1, version: 1 }, name: 'order_version' },
];

export function collectionNameOf(base: string, generation: number): string {
  return `${base}_g${generation}`;
}

export function readModelCollectionsOf(db: Db, generation: number): ReadModelCollections {
  return {
    generation,
    orderViews: db.collection<OrderViewDocument>(
      collectionNameOf(ORDER_VIEWS_COLLECTION, generation),
    ),
    orderHistory: db.collection<OrderHistoryDocument>(
      collectionNameOf(ORDER_HISTORY_COLLECTION, generation),
    ),
  };
}

/**
 * Idempotent for identical specs, so every replica runs it at start. One index per call:
 * FerretDB 1.24 drops the connection (server panic) when one call re-creates several.
 */
export async function ensureReadModelIndexes(collections: ReadModelCollections): Promise<void> {
  for (const index of orderViewIndexes) await collections.orderViews.createIndexes([index]);
  for (const index of orderHistoryIndexes) await collections.orderHistory.createIndexes([index]);
}

export async function dropReadModelCollections(collections: ReadModelCollections): Promise<void> {
  await collections.orderViews.drop().catch(ignoreMissingCollection);
  await collections.orderHistory.drop().catch(ignoreMissingCollection);
}

function ignoreMissingCollection(error: unknown): void {
  // NamespaceNotFound: nothing to drop.
  if ((error as { code?: number }).code !== 26) throw error;
}
