import {
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { decodeConsistencyToken } from '@orders/contracts';
import type { Request, Response } from 'express';
import type { Observable } from 'rxjs';
import {
  ConsistencyTimeoutError,
  InvalidConsistencyTimeoutError,
  InvalidConsistencyTokenError,
} from '../errors/query.errors';
import { ReadYourWritesWaiter } from './read-your-writes.waiter';

export const CONSISTENCY_TOKEN_HEADER = 'x-consistency-token';
export const CONSISTENCY_TIMEOUT_HEADER = 'x-consistency-timeout-ms';
export const DEFAULT_CONSISTENCY_TIMEOUT_MS = 3000;
export const MAX_CONSISTENCY_TIMEOUT_MS = 10_000;

/**
 * Read-your-writes for any query route (`@UseInterceptors(ReadYourWritesInterceptor)`): with
 * `X-Consistency-Token` the handler runs only once the read side reflects that write.
 */
@Injectable()
export class ReadYourWritesInterceptor implements NestInterceptor {
  constructor(private readonly waiter: ReadYourWritesWaiter) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    const timeoutMs = parseConsistencyTimeout(request.header(CONSISTENCY_TIMEOUT_HEADER));
    const tokenText = request.header(CONSISTENCY_TOKEN_HEADER);
    if (tokenText !== undefined) {
      const token = decodeConsistencyToken(tokenText);
      if (token === null) throw new InvalidConsistencyTokenError();
      // Stop polling for a client that has gone away. The response, not the request, tells:
      // a request stream closes as soon as its (empty) body has been read.
      const response = http.getResponse<Response>();
      const abandoned = new AbortController();
      const onClose = () => abandoned.abort();
      response.once('close', onClose);
      try {
        const reached = await this.waiter.waitForOrderVersion(
          token.orderId,
          token.version,
          timeoutMs,
          abandoned.signal,
        );
        if (!reached) throw new ConsistencyTimeoutError(timeoutMs);
      } finally {
        response.off('close', onClose);
      }
    }
    return next.handle();
  }
}

/** Absent means the default; anything but 0..10000 whole milliseconds is refused, not clamped. */
export function parseConsistencyTimeout(text: string | undefined): number {
  if (text === undefined) return DEFAULT_CONSISTENCY_TIMEOUT_MS;
  if (!/^[0-9]{1,5}$/.test(text.trim()))
    throw new InvalidConsistencyTimeoutError(MAX_CONSISTENCY_TIMEOUT_MS);
  const timeoutMs = Number(text.trim());
  if (timeoutMs > MAX_CONSISTENCY_TIMEOUT_MS)
    throw new InvalidConsistencyTimeoutError(MAX_CONSISTENCY_TIMEOUT_MS);
  return timeoutMs;
}
