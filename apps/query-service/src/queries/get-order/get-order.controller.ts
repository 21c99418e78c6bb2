import { Controller, Get, Headers, Param, Query, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { decodeConsistencyToken, orderIdSchema } from '@orders/contracts';
import { parseRequest } from '@orders/platform';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import {
  CONSISTENCY_TOKEN_HEADER,
  ReadYourWrites,
  type RequestValidation,
} from '../../consistency/read-your-writes.guard';
import { orderViewIdOf } from '../../projections/order-view.projection';
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
    @Headers(CONSISTENCY_TOKEN_HEADER) tokenText: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const { orderId, atVersion, asOf } = parseGetOrderRequest({ params: { id }, query });
    const pointInTime =
      atVersion !== undefined ? { atVersion } : asOf !== undefined ? { asOf } : null;
    // The ReadYourWrites guard waited for the token (and refused a bad one) before this runs.
    const token = tokenText === undefined ? null : decodeConsistencyToken(tokenText);
    const atLeastVersion =
      token !== null && orderViewIdOf(token.orderId) === orderViewIdOf(orderId) ? token.version : 0;
    const view = await this.queryBus.execute(
      new GetOrderQuery(orderId, pointInTime, atLeastVersion),
    );
    reply.header('ETag', `"${view.version}"`);
    reply.header('Content-Type', 'application/json; charset=utf-8');
    return jsonOf(view);
  }
}

/** A live view's response is answered many times (GetOrderHandler keeps it): serialized once. */
const serialized = new WeakMap<OrderViewResponse, string>();

function jsonOf(view: OrderViewResponse): string {
  let json = serialized.get(view);
  if (json === undefined) {
    json = JSON.stringify(view);
    serialized.set(view, json);
  }
  return json;
}
