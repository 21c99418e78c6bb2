import { HttpProblem } from '@orders/platform';

// Connection-level failures: the server went away, refused us, or is shutting down.
const UNAVAILABLE_SQLSTATE = /^(08|57P0[123])/;
const UNAVAILABLE_NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
]);

/**
 * PostgreSQL being unreachable is our outage, not the client's fault: 503 with Retry-After,
 * never 500. The command's transaction did not commit, or (if the connection broke during
 * COMMIT) may have: a retry with the same Idempotency-Key is safe either way.
 */
export function databaseUnavailableProblem(error: unknown): HttpProblem | undefined {
  // TypeORM's names for a transaction whose connection the server closed under it.
  const name = (error as { name?: unknown }).name;
  if (
    name === 'QueryRunnerProviderAlreadyReleasedError' ||
    name === 'QueryRunnerAlreadyReleasedError'
  ) {
    return unavailableProblem();
  }
  const candidate = (error as { driverError?: unknown }).driverError ?? error;
  const { code, message } = (candidate ?? {}) as { code?: unknown; message?: unknown };
  const unavailable =
    (typeof code === 'string' &&
      (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_NETWORK.has(code))) ||
    (typeof message === 'string' &&
      /Connection terminated|timeout exceeded when trying to connect|is not queryable/.test(
        message,
      ));
  return unavailable ? unavailableProblem() : undefined;
}

function unavailableProblem(): HttpProblem {
  return new HttpProblem(
    503,
    'STORE_UNAVAILABLE',
    'The event store is unavailable',
    'Retry shortly; use an Idempotency-Key to make the retry safe',
    {},
    { 'Retry-After': '1' },
  );
}
