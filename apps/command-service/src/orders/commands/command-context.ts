import { randomUUID } from 'node:crypto';
import { HttpProblem } from '@orders/platform';
import { IDEMPOTENCY_KEY_PATTERN, requestFingerprint } from '../../idempotency/idempotency-store';
import type { CommandContext } from './order-command.runner';

const traceIdPattern = /^[\x21-\x7e]{1,200}$/;
const traceparentPattern = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** One command request as any way in (REST, RabbitMQ) received it, not yet validated. */
export interface CommandRequest {
  /** The command's pattern (`order.place`, ...): with target and body, what a key stands for. */
  operation: string;
  target: string;
  body: unknown;
  /** Id of this request; becomes the causation id. A new one is made when absent or invalid. */
  requestId?: string | undefined;
  correlationId?: string | undefined;
  traceparent?: string | undefined;
  expectedVersion?: number | undefined;
  idempotencyKey?: string | undefined;
}

/**
 * The context every command runs with, built the same way for every way in, so that one
 * Idempotency-Key means the same request over REST and over RabbitMQ.
 */
export function buildCommandContext(request: CommandRequest): CommandContext {
  const requestId = validOr(request.requestId, traceIdPattern) ?? randomUUID();
  return {
    correlationId: validOr(request.correlationId, traceIdPattern) ?? requestId,
    causationId: requestId,
    traceparent: validOr(request.traceparent, traceparentPattern),
    expectedVersion: request.expectedVersion,
    idempotency: idempotencyClaim(request),
  };
}

function validOr(value: string | undefined, pattern: RegExp): string | undefined {
  return value !== undefined && pattern.test(value) ? value : undefined;
}

function idempotencyClaim({
  idempotencyKey: key,
  operation,
  target,
  body,
}: CommandRequest): CommandContext['idempotency'] {
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
