import { Controller, Get, Param, Query, UseInterceptors } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { orderIdSchema } from '@orders/contracts';
import { parseRequest } from '@orders/platform';
import { z } from 'zod';
import { ReadYourWritesInterceptor } from '../../consistency/read-your-writes.interceptor';
import { GetOrderHistoryQuery } from './get-order-history.query';
import type { OrderHistoryItemResponse } from './order-history.response';

@Controller('orders')
@UseInterceptors(ReadYourWritesInterceptor)
export class GetOrderHistoryController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get(':id/history')
  async getOrderHistory(
    @Param('id') id: string,
    @Query() query: Record<string, unknown>,
  ): Promise<OrderHistoryItemResponse[]> {
    const orderId = parseRequest(orderIdSchema, id, 'id');
    parseRequest(z.strictObject({}), query, 'query');
    return this.queryBus.execute(new GetOrderHistoryQuery(orderId));
  }
}
