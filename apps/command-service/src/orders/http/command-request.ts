import { randomUUID } from 'node:crypto';
import { orderIdSchema } from '@orders/contracts';
import { HttpProblem, parseRequest } from '@orders/platform';
import type { Request } from 'express';
import type { CommandContext } from '../commands/order-command.runner';

const traceIdPattern = /^[\x21-\x7e]{1,200}$/;
const traceparentPattern = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

export function parseOrderId(id: string): string {
  return parseRequest(orderIdSchema, id, 'id');
}

/** Reads If-Match, the correlation and trace headers into the context of a command. */
export function commandContext(request: Request): CommandContext {
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
