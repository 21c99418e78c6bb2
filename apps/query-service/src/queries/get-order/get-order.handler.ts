import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { OrderNotFoundError } from '../../errors/query.errors';
import { orderViewIdOf } from '../../projections/order-view.projection';
import { ReadStore } from '../../read-store/read-store.service';
import { GetOrderQuery } from './get-order.query';
import { toOrderViewResponse, type OrderViewResponse } from './order-view.response';

@QueryHandler(GetOrderQuery)
export class GetOrderHandler implements IQueryHandler<GetOrderQuery> {
  constructor(private readonly readStore: ReadStore) {}

  async execute(query: GetOrderQuery): Promise<OrderViewResponse> {
    const doc = await this.readStore.orderViews.findOne({ _id: orderViewIdOf(query.orderId) });
    if (doc === null) throw new OrderNotFoundError(query.orderId);
    return toOrderViewResponse(doc);
  }
}
