import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { Document } from 'mongodb';
import {
  parseDailyCounterKey,
  type DailyCounterName,
} from '../../projections/order-stats.counters';
import { ReadModelGenerations } from '../../read-store/read-model-generations';
import type { DailyStatsRowResponse } from './daily-stats.response';
import { GetDailyStatsQuery } from './get-daily-stats.query';

const fieldOf: Record<DailyCounterName, Exclude<keyof DailyStatsRowResponse, 'date'>> = {
  placed: 'ordersPlaced',
  confirmed: 'ordersConfirmed',
  cancelled: 'ordersCancelled',
  revenue: 'revenue',
};

/**
 * Sums the per-order daily counters of the currency over the days asked for, then answers a
 * row for every day, zeros included. `$in` over the listed days (not a range, and not
 * `$elemMatch`, which FerretDB 1.24 gets wrong) selects exactly the orders that touch them.
 */
@QueryHandler(GetDailyStatsQuery)
export class GetDailyStatsHandler implements IQueryHandler<GetDailyStatsQuery> {
  constructor(private readonly generations: ReadModelGenerations) {}

  async execute({ currency, days }: GetDailyStatsQuery): Promise<DailyStatsRowResponse[]> {
    const { orderViews } = await this.generations.forReading();
    const sums = await orderViews
      .aggregate<{ _id: string; value: number }>([
        { $match: { currency, 'dailyCounters.day': { $in: days } } },
        { $unwind: '$dailyCounters' },
        { $match: { 'dailyCounters.day': { $in: days } } },
        { $group: { _id: '$dailyCounters.key', value: { $sum: '$dailyCounters.value' } } },
      ] satisfies Document[])
      .toArray();

    const rows = new Map<string, DailyStatsRowResponse>(
      days.map((date) => [
        date,
        { date, ordersPlaced: 0, ordersConfirmed: 0, ordersCancelled: 0, revenue: 0 },
      ]),
    );
    for (const { _id, value } of sums) {
      const key = parseDailyCounterKey(_id);
      const row = key && rows.get(key.day);
      if (key && row) row[fieldOf[key.counter]] += value;
    }
    return [...rows.values()];
  }
}
