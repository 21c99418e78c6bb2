import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { OrderNotFoundError } from '../../errors/query.errors';
import { orderViewAt } from '../../projections/order-history.projection';
import type { OrderViewDocument } from '../../projections/order-view.document';
import { orderViewIdOf } from '../../projections/order-view.projection';
import { LiveViews } from '../../read-store/live-views';
import { ReadModelGenerations } from '../../read-store/read-model-generations';
import { GetOrderMetrics } from './get-order.metrics';
import { GetOrderQuery } from './get-order.query';
import { toOrderViewResponse, type OrderViewResponse } from './order-view.response';

@QueryHandler(GetOrderQuery)
export class GetOrderHandler implements IQueryHandler<GetOrderQuery> {
  /** A live view answers many reads: each is mapped once (views are replaced, never changed). */
  private readonly liveResponses = new WeakMap<OrderViewDocument, OrderViewResponse>();

  constructor(
    private readonly generations: ReadModelGenerations,
    private readonly liveViews: LiveViews,
    private readonly metrics: GetOrderMetrics,
  ) {}

  async execute({
    orderId,
    pointInTime,
    atLeastVersion,
  }: GetOrderQuery): Promise<OrderViewResponse> {
    const { generation, orderViews, orderHistory } = await this.generations.forReading();
    const id = orderViewIdOf(orderId);
    if (pointInTime === null) {
      const live = this.liveViews.get(generation, id, atLeastVersion);
      if (live !== undefined) {
        this.metrics.countRead('live_views');
        let response = this.liveResponses.get(live);
        if (response === undefined) {
          response = toOrderViewResponse(live);
          this.liveResponses.set(live, response);
        }
        return response;
      }
      this.metrics.countRead('read_store');
    }
    const view = await orderViews.findOne({ _id: id });
    if (view === null) throw new OrderNotFoundError(orderId);
    if (pointInTime === null) return toOrderViewResponse(view);

    // The view's version says which history entries are committed (it is written last).
    const entries = await orderHistory
      .find({ orderId: id, version: { $lte: view.version } })
      .sort({ version: 1 })
      .toArray();
    const then = orderViewAt(entries, pointInTime);
    if (then === null) throw new OrderNotFoundError(orderId, 'at that point in time');
    return toOrderViewResponse(then);
  }
}
