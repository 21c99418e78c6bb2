import type { ProblemDetails } from '@orders/contracts';

/** The Idempotency-Key was first used with another request. */
export class IdempotencyKeyReused extends Error {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';

  constructor() {
    super('this Idempotency-Key was used with a different request');
    this.name = 'IdempotencyKeyReused';
  }
}

/** A repeat of a request whose first answer was a refusal: the same refusal again. */
export class ReplayedRefusal extends Error {
  constructor(readonly problem: ProblemDetails) {
    super(problem.detail ?? problem.title);
    this.name = 'ReplayedRefusal';
  }
}
