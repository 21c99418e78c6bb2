import {
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';

/**
 * Failures that go away by themselves once the read store answers again: the server is
 * unreachable, or the client is being connected again (MongoHeartbeatWatchdog).
 */
export function isReadStoreUnavailable(error: unknown): boolean {
  return (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNotConnectedError ||
    error instanceof MongoTopologyClosedError ||
    (error instanceof MongoError && error.hasErrorLabel('RetryableWriteError'))
  );
}
