import { randomUUID } from 'node:crypto';
import { orderIdSchema } from '@orders/contracts';
import { HttpProblem, parseRequest } from '@orders/platform';
import type { Request } from 'express';
import { IDEMPOTENCY_KEY_PATTERN, requestFingerprint } from '../../idempotency/idempotency-store';
import type { CommandContext } from '../commands/order-command.runner';

const traceIdPattern = /^[\x21-\x7e]{1,200}$/;
const traceparentPattern = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

export function parseOrderId(id: string): string {
  return parseRequest(orderIdSchema, id, 'id');
}

/**
 * Reads If-Match, Idempotency-Key, the correlation and trace headers into the context of a
 * command. `operation`, `target` and `body` identify the request for idempotency.
 */
export function commandContext(
  request: Request,
  operation: string,
  target: string,
  body: unknown,
): CommandContext {
  const header = (name: string) => {
    const value = request.headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  const requestId = validOr(header('x-request-id'), traceIdPattern) ?? randomUUID();
  return {
    correlationId: validOr(header('x-correlation-id'), traceIdPattern) ?? requestId,
    causationId: requestId,
    traceparent: validOr(header('traceparent'), traceparentPattern),
    expectedVersion: parseIfMatch(header('if-match')),
    idempotency: parseIdempotencyKey(header('idempotency-key'), operation, target, body),
  };
}

function validOr(value: string | undefined, pattern: RegExp): string | undefined {
  return value !== undefined && pattern.test(value) ? value : undefined;
}

function parseIfMatch(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*(?:W\/)?"(\d{1,9})"\s*$/.exec(value);
  if (!match?.[1]) {
    throw new HttpProblem(400, 'INVALID_IF_MATCH', 'If-Match must be one quoted version, e.g. "3"');
  }
  return Number(match[1]);
}

function parseIdempotencyKey(
  key: string | undefined,
  operation: string,
  target: string,
  body: unknown,
): CommandContext['idempotency'] {
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new HttpProblem(
      400,
      'INVALID_IDEMPOTENCY_KEY',
      'Idempotency-Key must be 1 to 128 visible ASCII characters',
    );
  }
  return { key, fingerprint: requestFingerprint(operation, target, body) };
}
