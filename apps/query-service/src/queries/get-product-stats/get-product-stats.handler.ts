import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { OrderStatus } from '@orders/contracts';
import type { Document } from 'mongodb';
import { parseProductCounterKey } from '../../projections/order-stats.counters';
import { ReadModelGenerations } from '../../read-store/read-model-generations';
import { GetProductStatsQuery } from './get-product-stats.query';
import type { ProductStatsRowResponse } from './product-stats.response';

/** Orders whose lines count as sold (§5): not draft, not cancelled. */
export const COUNTED_STATUSES: OrderStatus[] = ['confirmed', 'paid', 'shipped'];

/**
 * Sums the per-order product counters. One `$group` with one `$sum` over one string key:
 * FerretDB 1.24 computes only the first accumulator of a `$group` and keeps one field of a
 * compound `_id`, so the counter name is part of the key and rows are assembled here.
 */
@QueryHandler(GetProductStatsQuery)
export class GetProductStatsHandler implements IQueryHandler<GetProductStatsQuery> {
  constructor(private readonly generations: ReadModelGenerations) {}

  async execute({
    currency,
    sortBy,
    limit,
  }: GetProductStatsQuery): Promise<ProductStatsRowResponse[]> {
    const { orderViews } = await this.generations.forReading();
    const sums = await orderViews
      .aggregate<{ _id: string; value: number }>([
        {
          $match: {
            status: { $in: COUNTED_STATUSES },
            ...(currency !== undefined && { currency }),
          },
        },
        { $unwind: '$productCounters' },
        { $group: { _id: '$productCounters.key', value: { $sum: '$productCounters.value' } } },
      ] satisfies Document[])
      .toArray();

    const rows = new Map<string, ProductStatsRowResponse>();
    for (const { _id, value } of sums) {
      const key = parseProductCounterKey(_id);
      if (key === null) continue;
      const rowKey = `${key.currency}/${key.sku}`;
      let row = rows.get(rowKey);
      if (!row) {
        row = { sku: key.sku, currency: key.currency, unitsSold: 0, revenue: 0, orders: 0 };
        rows.set(rowKey, row);
      }
      row[key.counter] += value;
    }
    return [...rows.values()]
      .sort(
        (a, b) =>
          b[sortBy] - a[sortBy] || compareText(a.sku, b.sku) || compareText(a.currency, b.currency),
      )
      .slice(0, limit);
  }
}

/** Code-unit order, as MongoDB compares strings without a collation. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
