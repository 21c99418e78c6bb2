import { z } from 'zod';
import {
  authVariables,
  authVariablesCheck,
  parseEnvironment,
  portVariable,
  positiveIntVariable,
  rateLimitVariable,
  trustProxyVariable,
  urlVariable,
} from '@orders/platform';
import { tracingVariables } from '@orders/platform/tracing';

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: portVariable(3000),
  DATABASE_URL: urlVariable(
    ['postgres:', 'postgresql:'],
    'postgres://postgres@127.0.0.1:5432/orders',
  ),
  RABBITMQ_URL: urlVariable(['amqp:', 'amqps:'], 'amqp://guest:guest@127.0.0.1:5672'),
  DATABASE_POOL_SIZE: positiveIntVariable(20, 200),
  /** Unacked deliveries per consumer (commands, payments): how many run at once. */
  RABBITMQ_PREFETCH: positiveIntVariable(32, 1000),
  /** Off where a one-shot migration (compose `migrate`, the Kubernetes Job) runs first. */
  MIGRATIONS_AT_START: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  RELAY_ENABLED: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  RELAY_BATCH_SIZE: positiveIntVariable(500, 5000),
  RELAY_POLL_INTERVAL_MS: positiveIntVariable(1000, 60_000),
  /** Idempotency keys are kept at least 24 hours (contract §3). */
  IDEMPOTENCY_RETENTION_HOURS: z.coerce
    .number()
    .int()
    .min(24)
    .max(24 * 365)
    .default(48),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  ...authVariables,
  RATE_LIMIT_PER_MINUTE: rateLimitVariable,
  ...tracingVariables,
  TRUST_PROXY: trustProxyVariable,
});

export type CommandServiceConfig = z.infer<typeof schema>;

export const COMMAND_SERVICE_CONFIG = Symbol('CommandServiceConfig');

export function loadCommandServiceConfig(
  env: Record<string, string | undefined>,
): CommandServiceConfig {
  return parseEnvironment(schema.check(authVariablesCheck), env);
}
