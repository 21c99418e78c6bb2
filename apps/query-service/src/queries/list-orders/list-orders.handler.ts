import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { Filter } from 'mongodb';
import type { OrderViewDocument } from '../../projections/order-view.document';
import { ReadModelGenerations } from '../../read-store/read-model-generations';
import { ListOrdersQuery } from './list-orders.query';
import { encodeOrderListCursor } from './order-list.cursor';
import {
  orderSummaryProjection,
  toOrderSummaryResponse,
  type OrderListResponse,
  type OrderSummaryFields,
} from './order-summary.response';

/**
 * Keyset pagination on (placedAt desc, orderId desc). Both never change once an order is
 * placed, so a page boundary is a fixed point of the order: paging never repeats or skips an
 * order that existed when paging began, whatever is placed meanwhile.
 */
@QueryHandler(ListOrdersQuery)
export class ListOrdersHandler implements IQueryHandler<ListOrdersQuery> {
  constructor(private readonly generations: ReadModelGenerations) {}

  async execute({ filters, limit, after }: ListOrdersQuery): Promise<OrderListResponse> {
    const { orderViews } = await this.generations.forReading();
    // Every value is a validated string or Date placed under a field we name.
    const filter: Filter<OrderViewDocument> = {};
    if (filters.customerId !== undefined) filter.customerId = filters.customerId;
    if (filters.status !== undefined) filter.status = filters.status;
    if (filters.placedFrom !== undefined || filters.placedTo !== undefined) {
      filter.placedAt = {
        ...(filters.placedFrom && { $gte: filters.placedFrom }),
        ...(filters.placedTo && { $lte: filters.placedTo }),
      };
    }
    if (after !== null) {
      filter.$or = [
        { placedAt: { $lt: after.placedAt } },
        { placedAt: after.placedAt, _id: { $lt: after.orderId } },
      ];
    }
    const docs = await orderViews
      .find<OrderSummaryFields>(filter, { projection: orderSummaryProjection })
      .sort({ placedAt: -1, _id: -1 })
      .limit(limit + 1)
      .toArray();
    const page = docs.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(toOrderSummaryResponse),
      nextCursor:
        docs.length > limit && last
          ? encodeOrderListCursor({ placedAt: last.placedAt, orderId: last._id }, filters)
          : null,
    };
  }
}
