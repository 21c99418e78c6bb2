import {
  applyDecorators,
  Injectable,
  SetMetadata,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { decodeConsistencyToken, type ConsistencyToken } from '@orders/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
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

/** Validates a request's path and query, throwing the route's 400 problem when they are bad. */
export type RequestValidation = (request: {
  params: Record<string, unknown>;
  query: unknown;
}) => unknown;

const VALIDATE_BEFORE_WAITING = Symbol('validateBeforeWaiting');

/**
 * Read-your-writes for a query controller: with `X-Consistency-Token` its handler runs only
 * once the read side reflects that write. `validate` (the route's own parsing) runs first, so
 * a bad request is a 400 at once, never a 503 after waiting for a token it came with.
 */
export const ReadYourWrites = (validate: RequestValidation) =>
  applyDecorators(SetMetadata(VALIDATE_BEFORE_WAITING, validate), UseGuards(ReadYourWritesGuard));

/**
 * A guard rather than an interceptor, though it decides no access: it runs at the same point,
 * after auth, but Nest awaits a guard as a plain promise (not at all when it returns `true`),
 * while it puts every request of an intercepted route through RxJS and two async resources.
 * As an interceptor this cost a fifth of the query service's CPU per `GET /orders/{id}`
 * without a token (a probe, 2 × AMD EPYC: 0.22-0.23 ms against 0.18-0.19 ms).
 */
@Injectable()
export class ReadYourWritesGuard implements CanActivate {
  constructor(
    private readonly waiter: ReadYourWritesWaiter,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest<{ Params: Record<string, unknown> }>>();
    const tokenText = headerOf(request, CONSISTENCY_TOKEN_HEADER);
    const timeoutText = headerOf(request, CONSISTENCY_TIMEOUT_HEADER);
    // Nothing to wait for and nothing to refuse: the handler validates the request itself.
    if (tokenText === undefined && timeoutText === undefined) return true;
    this.reflector.getAllAndOverride<RequestValidation | undefined>(VALIDATE_BEFORE_WAITING, [
      context.getHandler(),
      context.getClass(),
    ])?.(request);
    const timeoutMs = parseConsistencyTimeout(timeoutText);
    if (tokenText === undefined) return true;
    const token = decodeConsistencyToken(tokenText);
    if (token === null) throw new InvalidConsistencyTokenError();
    return this.waitFor(token, timeoutMs, http.getResponse<FastifyReply>().raw);
  }

  private async waitFor(
    token: ConsistencyToken,
    timeoutMs: number,
    response: FastifyReply['raw'],
  ): Promise<boolean> {
    // Stop polling for a client that has gone away. The response, not the request, tells: a
    // request stream closes as soon as its (empty) body has been read.
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
      return true;
    } finally {
      response.off('close', onClose);
    }
  }
}

function headerOf(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
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
