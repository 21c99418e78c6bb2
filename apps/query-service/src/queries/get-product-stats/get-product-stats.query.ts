import { Query } from '@nestjs/cqrs';
import type { ProductStatsRowResponse } from './product-stats.response';

export type ProductStatsSortKey = 'revenue' | 'unitsSold';

export class GetProductStatsQuery extends Query<ProductStatsRowResponse[]> {
  constructor(
    readonly currency: string | undefined,
    readonly sortBy: ProductStatsSortKey,
    readonly limit: number,
  ) {
    super();
  }
}
