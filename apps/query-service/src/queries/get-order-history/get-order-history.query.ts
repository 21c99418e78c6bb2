import { Query } from '@nestjs/cqrs';
import type { OrderHistoryItemResponse } from './order-history.response';

export class GetOrderHistoryQuery extends Query<OrderHistoryItemResponse[]> {
  constructor(readonly orderId: string) {
    super();
  }
}
