import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The ids every log line written while serving a request carries. */
export interface RequestContext {
  requestId: string;
  correlationId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();
const contexts = new WeakMap<IncomingMessage, RequestContext>();

/** As for command contexts: 1..200 visible ASCII characters, else a new id is made. */
const ID_PATTERN = /^[\x21-\x7e]{1,200}$/;

export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

/** Runs work (e.g. one consumed message) with ids its log lines carry. */
export function runWithRequestContext<T>(context: RequestContext, work: () => T): T {
  return storage.run(context, work);
}

export function requestContextOf(request: IncomingMessage): RequestContext | undefined {
  return contexts.get(request);
}

/**
 * Takes `X-Request-Id` (or makes one) and `X-Correlation-Id` (or the request id), echoes both
 * in the response, and runs the rest of the request (`next`) inside that context. The
 * validated ids are written back into the request headers, so what handlers read from there
 * (the command context's causation and correlation ids) is what the logs show.
 */
export function enterRequestContext(
  request: IncomingMessage,
  response: ServerResponse,
  next: () => void,
): void {
  const requestId = validId(request.headers['x-request-id']) ?? randomUUID();
  const correlationId = validId(request.headers['x-correlation-id']) ?? requestId;
  request.headers['x-request-id'] = requestId;
  request.headers['x-correlation-id'] = correlationId;
  response.setHeader('X-Request-Id', requestId);
  response.setHeader('X-Correlation-Id', correlationId);
  const context = { requestId, correlationId };
  contexts.set(request, context);
  storage.run(context, next);
}

/**
 * Runs `next` in the request's context again. Fastify reads a body in the callbacks of the
 * socket's events, which run outside it: its `preValidation` hook, which runs once the body
 * is parsed, calls this.
 */
export function resumeRequestContext(request: IncomingMessage, next: () => void): void {
  const context = contexts.get(request);
  if (context) storage.run(context, next);
  else next();
}

function validId(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && ID_PATTERN.test(value) ? value : undefined;
}
