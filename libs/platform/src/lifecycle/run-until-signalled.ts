import { flushTracing } from '../tracing/start-tracing';

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

export interface StoppableService {
  close(): Promise<void>;
}

/**
 * Runs a service until SIGTERM or SIGINT, then closes it and exits 0 (1 when starting or
 * closing fails). Listens from before the start, so a signal that arrives while the service
 * is still starting waits for the start to finish and then closes what it opened, instead of
 * racing Nest's init (Nest's own shutdown hooks close the application concurrently with an
 * unfinished init). Buffered trace spans are exported before the exit. Further signals are
 * ignored while it stops.
 */
export function runUntilSignalled(name: string, start: () => Promise<StoppableService>): void {
  let service: StoppableService | null = null;
  let stopping = false;
  const close = async (running: StoppableService) => {
    try {
      await running.close();
      await flushTracing();
      process.exit(0);
    } catch (error) {
      console.error(`${name} failed to stop cleanly:`, error);
      await flushTracing();
      process.exit(1);
    }
  };
  const onSignal = () => {
    // Repeats are common (Ctrl-C under npm or a shell script reaches the process twice) and
    // must not cut the stop short; SIGKILL is there for a stop that takes too long.
    if (stopping) return;
    stopping = true;
    if (service) void close(service);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  start().then(
    (started) => {
      service = started;
      if (stopping) void close(started);
    },
    (error: unknown) => {
      console.error(
        `${name} failed to start:`,
        isConfigurationError(error) ? error.message : error,
      );
      process.exit(1);
    },
  );
}

/** Configuration errors already name every bad variable: printed without a stack. */
function isConfigurationError(error: unknown): error is Error {
  return (
    error instanceof Error &&
    (error.name === 'InvalidConfigurationError' ||
      error.message.startsWith('Invalid configuration'))
  );
}
