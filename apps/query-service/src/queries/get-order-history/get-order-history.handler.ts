import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { OrderNotFoundError } from '../../errors/query.errors';
import { orderViewIdOf } from '../../projections/order-view.projection';
import { ReadModelGenerations } from '../../read-store/read-model-generations';
import { GetOrderHistoryQuery } from './get-order-history.query';
import {
  toOrderHistoryItemResponse,
  type OrderHistoryItemResponse,
} from './order-history.response';

@QueryHandler(GetOrderHistoryQuery)
export class GetOrderHistoryHandler implements IQueryHandler<GetOrderHistoryQuery> {
  constructor(private readonly generations: ReadModelGenerations) {}

  async execute({ orderId }: GetOrderHistoryQuery): Promise<OrderHistoryItemResponse[]> {
    const { orderViews, orderHistory } = await this.generations.forReading();
    const id = orderViewIdOf(orderId);
    const view = await orderViews.findOne({ _id: id }, { projection: { version: 1 } });
    if (view === null) throw new OrderNotFoundError(orderId);
    // Entries above the view's version belong to a write still in progress.
    const entries = await orderHistory
      .find({ orderId: id, version: { $lte: view.version } })
      .sort({ version: 1 })
      .toArray();
    return entries.map(toOrderHistoryItemResponse);
  }
}
