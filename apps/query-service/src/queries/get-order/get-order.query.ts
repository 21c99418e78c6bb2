import { Query } from '@nestjs/cqrs';
import type { PointInTime } from '../../projections/order-history.projection';
import type { OrderViewResponse } from './order-view.response';

/** The order now, or as it was at a point in time (`?atVersion=` / `?asOf=`). */
export class GetOrderQuery extends Query<OrderViewResponse> {
  constructor(
    readonly orderId: string,
    readonly pointInTime: PointInTime | null = null,
  ) {
    super();
  }
}
