import { Controller, Get, Query } from '@nestjs/common';
import type { EventEnvelope } from '@orders/contracts';
import { ORDER_SCOPES, parseRequest, RequireScope } from '@orders/platform';
import { z } from 'zod';
import { OrderEventStore } from './order-event-store';

/** Positions are PostgreSQL `bigint`s: a larger `after` would fail the query, not the request. */
const MAX_POSITION = 2n ** 63n - 1n;

const feedQuery = z.strictObject({
  after: z
    .string()
    .regex(/^(0|[1-9][0-9]{0,18})$/, 'must be a position (a decimal integer)')
    // Zod runs this check after a failed regex too: only digits reach BigInt.
    .refine((after) => !/^[0-9]+$/.test(after) || BigInt(after) <= MAX_POSITION, {
      error: `must be at most ${MAX_POSITION}`,
    })
    .default('0'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** The catch-up feed: every event in position order, for rebuilding read models. */
@Controller('events')
@RequireScope(ORDER_SCOPES.read)
export class EventsFeedController {
  constructor(private readonly store: OrderEventStore) {}

  @Get()
  async read(
    @Query() query: Record<string, unknown>,
  ): Promise<{ events: EventEnvelope[]; lastPosition: string }> {
    const { after, limit } = parseRequest(feedQuery, query, 'query');
    const events = (await this.store.readFeed(BigInt(after), limit)).events.map((e) => e.envelope);
    return { events, lastPosition: events.at(-1)?.position ?? after };
  }
}
