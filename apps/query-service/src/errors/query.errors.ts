export type QueryErrorCode =
  | 'ORDER_NOT_FOUND'
  | 'INVALID_CONSISTENCY_TOKEN'
  | 'INVALID_CONSISTENCY_TIMEOUT'
  | 'CONSISTENCY_TIMEOUT'
  | 'DEAD_LETTER_NOT_FOUND'
  | 'REPLAY_UNAVAILABLE'
  | 'REBUILD_UNAVAILABLE';

/** Every refusal the query side can answer, each with a stable machine-readable code. */
export abstract class QueryError extends Error {
  abstract readonly code: QueryErrorCode;
}

export class OrderNotFoundError extends QueryError {
  readonly code = 'ORDER_NOT_FOUND';

  constructor(
    readonly orderId: string,
    when?: string,
  ) {
    super(when ? `order ${orderId} did not exist ${when}` : `order ${orderId} is not known`);
  }
}

export class InvalidConsistencyTokenError extends QueryError {
  readonly code = 'INVALID_CONSISTENCY_TOKEN';

  constructor() {
    super('X-Consistency-Token is not a token issued by the command service');
  }
}

export class InvalidConsistencyTimeoutError extends QueryError {
  readonly code = 'INVALID_CONSISTENCY_TIMEOUT';

  constructor(maxMs: number) {
    super(`X-Consistency-Timeout-Ms must be a whole number of milliseconds from 0 to ${maxMs}`);
  }
}

export class ConsistencyTimeoutError extends QueryError {
  readonly code = 'CONSISTENCY_TIMEOUT';

  constructor(timeoutMs: number) {
    super(`the read side did not reach the requested write within ${timeoutMs} ms; retry later`);
  }
}

export class DeadLetterNotFoundError extends QueryError {
  readonly code = 'DEAD_LETTER_NOT_FOUND';

  constructor(readonly id: string) {
    super(`no dead letter ${id} is stored`);
  }
}

/** RabbitMQ did not confirm a replay; the dead letter stays stored. */
export class ReplayUnavailableError extends QueryError {
  readonly code = 'REPLAY_UNAVAILABLE';
}

/** RabbitMQ, whose exclusive queue is the rebuild's lock, could not be reached. */
export class RebuildUnavailableError extends QueryError {
  readonly code = 'REBUILD_UNAVAILABLE';
}
