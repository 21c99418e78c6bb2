import { HttpProblem } from '@orders/platform';
import { databaseUnavailableProblem } from '../database/database-unavailable';
import { StreamVersionConflict } from '../event-store/order-event-store';
import { IdempotencyKeyReused, ReplayedRefusal } from './commands/idempotency.errors';
import { VersionMismatch } from './commands/version-mismatch.error';
import { OrderRuleViolation, type OrderRuleCode } from './domain/order.errors';

const ruleStatus: Record<OrderRuleCode, number> = {
  ORDER_NOT_FOUND: 404,
  ORDER_ALREADY_EXISTS: 409,
  ORDER_NOT_DRAFT: 409,
  ORDER_EMPTY: 409,
  ORDER_NOT_CONFIRMED: 409,
  ORDER_NOT_PAID: 409,
  ORDER_CLOSED: 409,
  LINE_NOT_FOUND: 409,
  LINE_PRICE_MISMATCH: 409,
  LINE_QUANTITY_EXCEEDED: 409,
  ORDER_LINES_EXCEEDED: 409,
  PAYMENT_AMOUNT_MISMATCH: 409,
  PAYMENT_ALREADY_RECORDED: 409,
};

/** The one place that maps command-side errors to problem details (HTTP and RabbitMQ alike). */
export function orderProblem(error: unknown): HttpProblem | undefined {
  if (error instanceof OrderRuleViolation) {
    const status = ruleStatus[error.code];
    const title = status === 404 ? 'Order not found' : 'The order rules refuse this command';
    return new HttpProblem(status, error.code, title, error.message);
  }
  if (error instanceof VersionMismatch) {
    return new HttpProblem(
      412,
      error.code,
      'The order is at another version',
      error.message,
      error.currentVersion === undefined ? {} : { currentVersion: error.currentVersion },
    );
  }
  if (error instanceof IdempotencyKeyReused) {
    return new HttpProblem(422, error.code, 'Idempotency-Key reused', error.message);
  }
  if (error instanceof ReplayedRefusal) {
    const { status, code, title, detail, type: _type, ...extensions } = error.problem;
    return new HttpProblem(status, code, title, detail, extensions, {
      'Idempotent-Replayed': 'true',
    });
  }
  if (error instanceof StreamVersionConflict) {
    return new HttpProblem(
      409,
      'CONCURRENCY_CONFLICT',
      'The order is changing too fast to decide this command',
      'Try again',
    );
  }
  return undefined;
}

/** Every error a command can end in that is not a bug: rule refusals and outages alike. */
export function commandProblem(error: unknown): HttpProblem | undefined {
  return orderProblem(error) ?? databaseUnavailableProblem(error);
}
