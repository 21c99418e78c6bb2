import { Query } from '@nestjs/cqrs';
import type { PointInTime } from '../../projections/order-history.projection';
import type { OrderViewResponse } from './order-view.response';

/**
 * The order now, or as it was at a point in time (`?atVersion=` / `?asOf=`). `atLeastVersion`
 * is what the request's consistency token asked for (0 without one): the answer must not be
 * older.
 */
export class GetOrderQuery extends Query<OrderViewResponse> {
  constructor(
    readonly orderId: string,
    readonly pointInTime: PointInTime | null = null,
    readonly atLeastVersion = 0,
  ) {
    super();
  }
}
