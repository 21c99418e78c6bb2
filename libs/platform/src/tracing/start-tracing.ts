import { tracingSettingsOf } from './tracing-settings';

type TracingSdk = ReturnType<typeof import('./node-tracing-sdk').startNodeTracingSdk>;

/** Longest a shutdown waits for the last spans to be exported. */
const FLUSH_TIMEOUT_MS = 5_000;

let started: TracingSdk | null = null;

/**
 * Starts OpenTelemetry tracing when OTEL_EXPORTER_OTLP_ENDPOINT is set; does nothing (and
 * loads no SDK) otherwise. Call it before Nest, pg or mongodb are loaded: each service's
 * main module imports its `tracing` module first.
 */
export function startTracing(
  defaultServiceName: string,
  env: Record<string, string | undefined>,
): boolean {
  const settings = tracingSettingsOf(env, defaultServiceName);
  if (settings === null || started !== null) return false;
  // Required here, not imported at the top: with tracing off the SDK is never loaded. It must
  // be synchronous (no import()): the instrumentations patch modules main.ts loads next.
  const { startNodeTracingSdk } =
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('./node-tracing-sdk') as typeof import('./node-tracing-sdk');
  started = startNodeTracingSdk(settings);
  return true;
}

/**
 * Exports the spans still buffered and stops tracing; call it after the application closed,
 * right before the process exits. Waits at most 5 s for an unreachable collector.
 */
export async function flushTracing(): Promise<void> {
  const sdk = started;
  if (sdk === null) return;
  started = null;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, FLUSH_TIMEOUT_MS)));
  await Promise.race([sdk.shutdown().catch(() => undefined), timeout]);
  clearTimeout(timer);
}
