import { Controller, Get, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { identifierSchema, orderStatusSchema } from '@orders/contracts';
import { parseRequest } from '@orders/platform';
import { z } from 'zod';
import { ReadYourWrites } from '../../consistency/read-your-writes.guard';
import { instantOrDayParam, wholeNumberParam } from '../query-params';
import { ListOrdersQuery } from './list-orders.query';
import { decodeOrderListCursor, filtersFingerprint } from './order-list.cursor';
import type { OrderListResponse } from './order-summary.response';

export const DEFAULT_LIST_LIMIT = 20;

const listOrdersParams = z
  .strictObject({
    customerId: identifierSchema.optional(),
    status: orderStatusSchema.optional(),
    /** Inclusive; a day means its first millisecond (UTC). */
    placedFrom: instantOrDayParam('start').optional(),
    /** Inclusive; a day means its last millisecond (UTC). */
    placedTo: instantOrDayParam('end').optional(),
    limit: wholeNumberParam(1, 100).default(DEFAULT_LIST_LIMIT),
    cursor: z.string().optional(),
  })
  .superRefine((params, ctx) => {
    if (params.placedFrom && params.placedTo && params.placedFrom > params.placedTo) {
      ctx.addIssue({
        code: 'custom',
        path: ['placedTo'],
        message: 'must not be before placedFrom',
      });
    }
    if (params.cursor === undefined) return;
    const cursor = decodeOrderListCursor(params.cursor);
    if (cursor === null) {
      ctx.addIssue({
        code: 'custom',
        path: ['cursor'],
        message: 'is not a cursor this service issued',
      });
    } else if (cursor.fingerprint !== filtersFingerprint(params)) {
      ctx.addIssue({
        code: 'custom',
        path: ['cursor'],
        message: 'was issued for other filters; repeat the filters of the first page',
      });
    }
  });

@Controller('orders')
@ReadYourWrites(({ query }) => parseRequest(listOrdersParams, query, 'query'))
export class ListOrdersController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get()
  async listOrders(@Query() query: Record<string, unknown>): Promise<OrderListResponse> {
    const { limit, cursor, ...filters } = parseRequest(listOrdersParams, query, 'query');
    const after = cursor === undefined ? null : (decodeOrderListCursor(cursor)?.position ?? null);
    return this.queryBus.execute(new ListOrdersQuery(filters, limit, after));
  }
}
