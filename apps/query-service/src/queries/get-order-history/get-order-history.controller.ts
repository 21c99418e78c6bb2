import { Controller, Get, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { orderIdSchema } from '@orders/contracts';
import { parseRequest } from '@orders/platform';
import { z } from 'zod';
import { ReadYourWrites, type RequestValidation } from '../../consistency/read-your-writes.guard';
import { GetOrderHistoryQuery } from './get-order-history.query';
import type { OrderHistoryItemResponse } from './order-history.response';

const parseHistoryRequest = ({ params, query }: Parameters<RequestValidation>[0]) => {
  parseRequest(z.strictObject({}), query, 'query');
  return parseRequest(orderIdSchema, params.id, 'id');
};

@Controller('orders')
@ReadYourWrites(parseHistoryRequest)
export class GetOrderHistoryController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get(':id/history')
  async getOrderHistory(
    @Param('id') id: string,
    @Query() query: Record<string, unknown>,
  ): Promise<OrderHistoryItemResponse[]> {
    const orderId = parseHistoryRequest({ params: { id }, query });
    return this.queryBus.execute(new GetOrderHistoryQuery(orderId));
  }
}
