import { Query } from '@nestjs/cqrs';
import type { OrderViewResponse } from './order-view.response';

export class GetOrderQuery extends Query<OrderViewResponse> {
  constructor(readonly orderId: string) {
    super();
  }
}
