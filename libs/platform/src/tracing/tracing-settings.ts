import { z } from 'zod';

/** An empty variable means "unset", as shells and compose files commonly produce it. */
const unsetWhenBlank = <S extends z.ZodType>(schema: S) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema);

/**
 * The standard OpenTelemetry variables this system reads, validated with the rest of each
 * service's configuration. Tracing is on only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
 */
export const tracingVariables = {
  OTEL_EXPORTER_OTLP_ENDPOINT: unsetWhenBlank(
    z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL (OTLP/HTTP)' })
      .optional(),
  ),
  OTEL_SERVICE_NAME: unsetWhenBlank(
    z
      .string()
      .regex(/^[\x21-\x7e]{1,255}$/, 'must be 1..255 visible ASCII characters')
      .optional(),
  ),
  OTEL_SDK_DISABLED: unsetWhenBlank(z.enum(['true', 'false']).default('false')),
  /** Milliseconds between exports of finished spans (the SDK's default is 5000). */
  OTEL_BSP_SCHEDULE_DELAY: unsetWhenBlank(z.coerce.number().int().min(1).max(60_000).default(5000)),
};

const tracingSchema = z.object(tracingVariables);

export interface TracingSettings {
  serviceName: string;
  /** Where finished spans are POSTed: the endpoint with the signal path `/v1/traces`. */
  tracesUrl: string;
  scheduleDelayMs: number;
}

/**
 * Tracing settings from the environment, or null when tracing is off or a variable is bad
 * (the service's configuration then refuses to start, naming it).
 */
export function tracingSettingsOf(
  env: Record<string, string | undefined>,
  defaultServiceName: string,
): TracingSettings | null {
  const parsed = tracingSchema.safeParse(env);
  if (!parsed.success) return null;
  const { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SDK_DISABLED: disabled } = parsed.data;
  if (endpoint === undefined || disabled === 'true') return null;
  return {
    serviceName: parsed.data.OTEL_SERVICE_NAME ?? defaultServiceName,
    // The OTLP exporter specification: the base endpoint gets the signal's path appended.
    tracesUrl: `${endpoint.replace(/\/+$/, '')}/v1/traces`,
    scheduleDelayMs: parsed.data.OTEL_BSP_SCHEDULE_DELAY,
  };
}
