import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { orderIdSchema } from '@orders/contracts';
import { parseRequest } from '@orders/platform';
import type { Response } from 'express';
import { z } from 'zod';
import {
  ReadYourWrites,
  type RequestValidation,
} from '../../consistency/read-your-writes.interceptor';
import { instantParam, wholeNumberParam } from '../query-params';
import { GetOrderQuery } from './get-order.query';
import type { OrderViewResponse } from './order-view.response';

const pointInTimeParams = z
  .strictObject({
    atVersion: wholeNumberParam(1, 2_000_000_000).optional(),
    asOf: instantParam.optional(),
  })
  .refine((params) => params.atVersion === undefined || params.asOf === undefined, {
    error: 'give atVersion or asOf, not both',
  });

const parseGetOrderRequest = ({ params, query }: Parameters<RequestValidation>[0]) => ({
  orderId: parseRequest(orderIdSchema, params.id, 'id'),
  ...parseRequest(pointInTimeParams, query, 'query'),
});

@Controller('orders')
@ReadYourWrites(parseGetOrderRequest)
export class GetOrderController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get(':id')
  async getOrder(
    @Param('id') id: string,
    @Query() query: Record<string, unknown>,
    @Res({ passthrough: true }) response: Response,
  ): Promise<OrderViewResponse> {
    const { orderId, atVersion, asOf } = parseGetOrderRequest({ params: { id }, query });
    const pointInTime =
      atVersion !== undefined ? { atVersion } : asOf !== undefined ? { asOf } : null;
    const view = await this.queryBus.execute(new GetOrderQuery(orderId, pointInTime));
    response.setHeader('ETag', `"${view.version}"`);
    return view;
  }
}
