import { Controller, Get, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { currencySchema } from '@orders/contracts';
import { parseRequest } from '@orders/platform';
import { z } from 'zod';
import { ReadYourWrites } from '../../consistency/read-your-writes.guard';
import { wholeNumberParam } from '../query-params';
import { GetProductStatsQuery } from './get-product-stats.query';
import type { ProductStatsRowResponse } from './product-stats.response';

const productStatsParams = z.strictObject({
  /** Without it, every currency, each sku once per currency. */
  currency: currencySchema.optional(),
  sortBy: z.enum(['revenue', 'unitsSold']).default('revenue'),
  limit: wholeNumberParam(1, 100).default(10),
});

@Controller('stats')
@ReadYourWrites(({ query }) => parseRequest(productStatsParams, query, 'query'))
export class GetProductStatsController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get('products')
  async getProductStats(
    @Query() query: Record<string, unknown>,
  ): Promise<ProductStatsRowResponse[]> {
    const { currency, sortBy, limit } = parseRequest(productStatsParams, query, 'query');
    return this.queryBus.execute(new GetProductStatsQuery(currency, sortBy, limit));
  }
}
