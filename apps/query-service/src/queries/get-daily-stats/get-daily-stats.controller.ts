import { Controller, Get, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { currencySchema } from '@orders/contracts';
import { parseRequest } from '@orders/platform';
import { z } from 'zod';
import { ReadYourWrites } from '../../consistency/read-your-writes.guard';
import { MS_PER_DAY, utcDayParam } from '../query-params';
import type { DailyStatsRowResponse } from './daily-stats.response';
import { GetDailyStatsQuery } from './get-daily-stats.query';

export const MAX_DAILY_STATS_DAYS = 366;

const dailyStatsParams = z
  .strictObject({
    /** Required: revenue in different currencies cannot be added up. */
    currency: currencySchema,
    from: utcDayParam,
    to: utcDayParam,
  })
  .transform((params, ctx) => {
    const first = Date.parse(`${params.from}T00:00:00Z`);
    const count = (Date.parse(`${params.to}T00:00:00Z`) - first) / MS_PER_DAY + 1;
    if (count < 1) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'must not be before from' });
      return z.NEVER;
    }
    if (count > MAX_DAILY_STATS_DAYS) {
      ctx.addIssue({
        code: 'custom',
        path: ['to'],
        message: `the range may span at most ${MAX_DAILY_STATS_DAYS} days`,
      });
      return z.NEVER;
    }
    const days = Array.from({ length: count }, (_, index) =>
      new Date(first + index * MS_PER_DAY).toISOString().slice(0, 10),
    );
    return { currency: params.currency, days };
  });

@Controller('stats')
@ReadYourWrites(({ query }) => parseRequest(dailyStatsParams, query, 'query'))
export class GetDailyStatsController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get('daily')
  async getDailyStats(@Query() query: Record<string, unknown>): Promise<DailyStatsRowResponse[]> {
    const { currency, days } = parseRequest(dailyStatsParams, query, 'query');
    return this.queryBus.execute(new GetDailyStatsQuery(currency, days));
  }
}
