import { Query } from '@nestjs/cqrs';
import type { OrderStatus } from '@orders/contracts';
import type { OrderListPosition } from './order-list.cursor';
import type { OrderListResponse } from './order-summary.response';

export class ListOrdersQuery extends Query<OrderListResponse> {
  constructor(
    readonly filters: {
      customerId?: string | undefined;
      status?: OrderStatus | undefined;
      placedFrom?: Date | undefined;
      placedTo?: Date | undefined;
    },
    readonly limit: number,
    readonly after: OrderListPosition | null,
  ) {
    super();
  }
}
