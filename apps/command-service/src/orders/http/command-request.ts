import { orderIdSchema } from '@orders/contracts';
import { HttpProblem, parseRequest } from '@orders/platform';
import type { FastifyRequest } from 'fastify';
import { buildCommandContext } from '../commands/command-context';
import type { CommandContext } from '../commands/order-command.runner';

export function parseOrderId(id: string): string {
  return parseRequest(orderIdSchema, id, 'id');
}

/**
 * Reads If-Match, Idempotency-Key, the correlation and trace headers into the context of a
 * command. `operation`, `target` and `body` identify the request for idempotency.
 */
export function commandContext(
  request: FastifyRequest,
  operation: string,
  target: string,
  body: unknown,
): CommandContext {
  const header = (name: string) => {
    const value = request.headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  return buildCommandContext({
    operation,
    target,
    body,
    requestId: header('x-request-id'),
    correlationId: header('x-correlation-id'),
    traceparent: header('traceparent'),
    expectedVersion: parseIfMatch(header('if-match')),
    idempotencyKey: header('idempotency-key'),
  });
}

function parseIfMatch(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*(?:W\/)?"(\d{1,9})"\s*$/.exec(value);
  if (!match?.[1]) {
    throw new HttpProblem(400, 'INVALID_IF_MATCH', 'If-Match must be one quoted version, e.g. "3"');
  }
  return Number(match[1]);
}
