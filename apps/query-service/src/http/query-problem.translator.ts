import { HttpProblem } from '@orders/platform';
import { QueryError, type QueryErrorCode } from '../errors/query.errors';
import { isReadStoreUnavailable } from '../read-store/read-store-unavailable';

const problems: Record<
  QueryErrorCode,
  { status: number; title: string; headers?: Record<string, string> }
> = {
  ORDER_NOT_FOUND: { status: 404, title: 'Order not found' },
  INVALID_CONSISTENCY_TOKEN: {
    status: 400,
    title: 'Invalid consistency token',
  },
  INVALID_CONSISTENCY_TIMEOUT: {
    status: 400,
    title: 'Invalid consistency timeout',
  },
  DEAD_LETTER_NOT_FOUND: { status: 404, title: 'Dead letter not found' },
  REPLAY_UNAVAILABLE: {
    status: 503,
    title: 'The replay could not be published',
    headers: { 'Retry-After': '5' },
  },
  REBUILD_UNAVAILABLE: {
    status: 503,
    title: 'The rebuild could not take its lock',
    headers: { 'Retry-After': '5' },
  },
  // Retry-After lets a client back off instead of hammering a lagging read side.
  CONSISTENCY_TIMEOUT: {
    status: 503,
    title: 'Read side not yet consistent',
    headers: { 'Retry-After': '1' },
  },
};

/** Maps the query side's errors to problem+json; the shared filter answers everything else. */
export function translateQueryError(error: unknown): HttpProblem | undefined {
  if (error instanceof QueryError) {
    const { status, title, headers } = problems[error.code];
    return new HttpProblem(status, error.code, title, error.message, {}, headers);
  }
  // An unreachable read store is the server's trouble, not the client's: 503, never a bare 500.
  if (isReadStoreUnavailable(error)) {
    return new HttpProblem(
      503,
      'READ_STORE_UNAVAILABLE',
      'The read store is not reachable',
      undefined,
      {},
      {
        'Retry-After': '1',
      },
    );
  }
  return undefined;
}
