import { Controller, Get, Param, Res, UseInterceptors } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { orderIdSchema } from '@orders/contracts';
import { parseRequest } from '@orders/platform';
import type { Response } from 'express';
import { ReadYourWritesInterceptor } from '../../consistency/read-your-writes.interceptor';
import { GetOrderQuery } from './get-order.query';
import type { OrderViewResponse } from './order-view.response';

@Controller('orders')
@UseInterceptors(ReadYourWritesInterceptor)
export class GetOrderController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get(':id')
  async getOrder(
    @Param('id') id: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<OrderViewResponse> {
    const orderId = parseRequest(orderIdSchema, id, 'id');
    const view = await this.queryBus.execute(new GetOrderQuery(orderId));
    response.setHeader('ETag', `"${view.version}"`);
    return view;
  }
}
