import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { orderEventTypes, orderIdSchema } from '@orders/contracts';
import { ORDER_SCOPES, parseRequest, RequireScope } from '@orders/platform';
import { z } from 'zod';
import { DeadLetterNotFoundError } from '../errors/query.errors';
import { wholeNumberParam } from '../queries/query-params';
import { DeadLetterReplayer } from './dead-letter.replayer';
import {
  toDeadLetterDetail,
  toDeadLetterSummary,
  type DeadLetterDetailResponse,
  type DeadLetterSummaryResponse,
} from './dead-letter.response';
import { DeadLetterStore, type DeadLetterPosition } from './dead-letter.store';

const filterParams = {
  orderId: orderIdSchema.transform((id) => id.toLowerCase()).optional(),
  eventType: z.enum(orderEventTypes).optional(),
};

const listParams = z.strictObject({
  ...filterParams,
  limit: wholeNumberParam(1, 500).default(100),
  cursor: z
    .string()
    .transform((text, ctx) => {
      const position = decodeCursor(text);
      if (position === null) {
        ctx.addIssue({ code: 'custom', message: 'is not a cursor this service issued' });
        return z.NEVER;
      }
      return position;
    })
    .optional(),
});

const deadLetterId = z.string().regex(/^[0-9a-f]{32}$/, 'must be a dead letter id');

/** The operator's way to see and replay what the projection gave up on (§4). */
@Controller('admin/dead-letters')
@RequireScope(ORDER_SCOPES.admin)
export class AdminDeadLettersController {
  constructor(
    private readonly store: DeadLetterStore,
    private readonly replayer: DeadLetterReplayer,
  ) {}

  @Get()
  async list(
    @Query() query: Record<string, unknown>,
  ): Promise<{ items: DeadLetterSummaryResponse[]; nextCursor: string | null }> {
    const { limit, cursor, ...filter } = parseRequest(listParams, query, 'query');
    const docs = await this.store.list(filter, limit + 1, cursor ?? null);
    const page = docs.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(toDeadLetterSummary),
      nextCursor:
        docs.length > limit && last
          ? encodeCursor({ storedAt: last.storedAt, id: last._id })
          : null,
    };
  }

  @Get(':id')
  async get(@Param('id') id: string): Promise<DeadLetterDetailResponse> {
    const doc = await this.store.get(parseRequest(deadLetterId, id, 'id'));
    if (doc === null) throw new DeadLetterNotFoundError(id);
    return toDeadLetterDetail(doc);
  }

  @Post('replay-all')
  @HttpCode(200)
  async replayAll(
    @Query() query: Record<string, unknown>,
  ): Promise<{ replayed: number; items: DeadLetterSummaryResponse[] }> {
    const filter = parseRequest(z.strictObject(filterParams), query, 'query');
    const replayed = await this.replayer.replayAll(filter);
    return { replayed: replayed.length, items: replayed.map(toDeadLetterSummary) };
  }

  @Post(':id/replay')
  @HttpCode(200)
  async replay(
    @Param('id') id: string,
  ): Promise<{ replayed: number; items: DeadLetterSummaryResponse[] }> {
    const doc = await this.replayer.replay(parseRequest(deadLetterId, id, 'id'));
    return { replayed: 1, items: [toDeadLetterSummary(doc)] };
  }
}

function encodeCursor(position: DeadLetterPosition): string {
  return Buffer.from(JSON.stringify([position.storedAt.getTime(), position.id])).toString(
    'base64url',
  );
}

function decodeCursor(text: string): DeadLetterPosition | null {
  if (text.length > 100 || !/^[A-Za-z0-9_-]+$/.test(text)) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 2) return null;
    const [storedAtMs, id] = value as unknown[];
    if (typeof storedAtMs !== 'number' || !Number.isSafeInteger(storedAtMs)) return null;
    if (typeof id !== 'string' || !/^[0-9a-f]{32}$/.test(id)) return null;
    return { storedAt: new Date(storedAtMs), id };
  } catch {
    return null;
  }
}
