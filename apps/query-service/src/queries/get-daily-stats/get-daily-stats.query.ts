import { Query } from '@nestjs/cqrs';
import type { DailyStatsRowResponse } from './daily-stats.response';

/** `days`: every UTC day from `from` to `to`, ascending (at most 366). */
export class GetDailyStatsQuery extends Query<DailyStatsRowResponse[]> {
  constructor(
    readonly currency: string,
    readonly days: string[],
  ) {
    super();
  }
}
