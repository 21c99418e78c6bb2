import {
  authSettingsOf,
  authVariables,
  authVariablesCheck,
  rateLimitVariable,
  trustProxyVariable,
  type AuthSettings,
  type TrustProxySetting,
} from '@orders/platform';
import { tracingVariables } from '@orders/platform/tracing';
import { z } from 'zod';

/** Validated configuration of the query service; built once at start. */
export interface QueryServiceConfig {
  port: number;
  mongodbUrl: string;
  /** Taken from the path of MONGODB_URL, so two systems never share a read store by accident. */
  mongodbDatabase: string;
  rabbitmqUrl: string;
  queryQueueName: string;
  prefetch: number;
  logLevel: LogLevelName;
  /** Bearer tokens (AUTH_*); off only outside production. */
  auth: AuthSettings;
  /** Requests per client per minute; 0 is no limit. */
  rateLimitPerMinute: number;
  /** TRUST_PROXY: whose X-Forwarded-For names the client (off by default). */
  trustProxy: TrustProxySetting;
  /** The command service, whose `GET /events` feed a rebuild reads. */
  commandServiceUrl: string;
  /** Bearer token (scope `orders:read`) the rebuild sends to that feed; null sends none. */
  commandServiceToken: string | null;
  /** Events per feed page while rebuilding (1..1000). */
  rebuildPageSize: number;
  /** `/health/ready` fails while the projection is further behind than this (seconds)... */
  readyMaxLagSeconds: number;
  /** ...or while more events than this wait in its queue. */
  readyMaxLagEvents: number;
}

export const logLevelNames = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevelName = (typeof logLevelNames)[number];

export const QUERY_SERVICE_CONFIG = Symbol('QUERY_SERVICE_CONFIG');

export class InvalidConfigurationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  ${problem}`).join('\n')}`);
    this.name = 'InvalidConfigurationError';
  }
}

// Authority, then a database name: MongoDB forbids / \ . " $ and spaces in database names.
const MONGODB_URL_PATTERN = /^mongodb(?:\+srv)?:\/\/[^/?#]+\/([^/\\. "$?#%]{1,63})(?:\?.*)?$/;

const integerText = (min: number, max: number) =>
  z
    .string()
    .regex(/^[0-9]+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.int().min(min).max(max));

const environmentSchema = z.object({
  PORT: integerText(0, 65535).default(3001),
  MONGODB_URL: z
    .string()
    .regex(MONGODB_URL_PATTERN, 'must be mongodb://host[:port]/<database>[?options]')
    .default('mongodb://127.0.0.1:27017/orders_read'),
  RABBITMQ_URL: z
    .url({ protocol: /^amqps?$/, error: 'must be an amqp:// or amqps:// URL' })
    .default('amqp://guest:guest@127.0.0.1:5672/'),
  QUERY_QUEUE_NAME: z
    .string()
    // Leaves room for the `.dead-letter` suffix inside AMQP's 255-byte name limit.
    .regex(
      /^(?!amq\.)[A-Za-z0-9_.:-]{1,200}$/,
      'must be 1..200 of A-Z a-z 0-9 _ . : - and not start with amq.',
    )
    .default('orders.query-service'),
  PREFETCH: integerText(1, 65535).default(256),
  LOG_LEVEL: z.enum(logLevelNames).default('info'),
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  ...authVariables,
  RATE_LIMIT_PER_MINUTE: rateLimitVariable,
  ...tracingVariables,
  TRUST_PROXY: trustProxyVariable,
  COMMAND_SERVICE_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .default('http://127.0.0.1:3000'),
  // RFC 6750 b64token characters, so a pasted value with a space or "Bearer " is caught at start.
  COMMAND_SERVICE_TOKEN: z
    .string()
    .max(16_384)
    .regex(
      /^[A-Za-z0-9\-._~+/]+=*$/,
      'must be the bearer token itself (e.g. a JWT), without "Bearer " or spaces',
    )
    .optional(),
  REBUILD_PAGE_SIZE: integerText(1, 1000).default(500),
  READY_MAX_LAG_SECONDS: integerText(1, 86_400).default(60),
  READY_MAX_LAG_EVENTS: integerText(1, 100_000_000).default(50_000),
});
const checkedEnvironmentSchema = environmentSchema.check(authVariablesCheck);

type EnvironmentName = keyof z.input<typeof environmentSchema>;

const variableOf: Record<keyof QueryServiceConfig, EnvironmentName> = {
  port: 'PORT',
  mongodbUrl: 'MONGODB_URL',
  mongodbDatabase: 'MONGODB_URL',
  rabbitmqUrl: 'RABBITMQ_URL',
  queryQueueName: 'QUERY_QUEUE_NAME',
  prefetch: 'PREFETCH',
  logLevel: 'LOG_LEVEL',
  auth: 'AUTH_JWT_SECRET',
  rateLimitPerMinute: 'RATE_LIMIT_PER_MINUTE',
  trustProxy: 'TRUST_PROXY',
  commandServiceUrl: 'COMMAND_SERVICE_URL',
  commandServiceToken: 'COMMAND_SERVICE_TOKEN',
  rebuildPageSize: 'REBUILD_PAGE_SIZE',
  readyMaxLagSeconds: 'READY_MAX_LAG_SECONDS',
  readyMaxLagEvents: 'READY_MAX_LAG_EVENTS',
};

/**
 * Reads and validates the environment once. Explicit overrides (tests, embedding) win over
 * the environment, and a variable they replace is not validated. Throws one error naming
 * every bad variable.
 */
export function loadQueryServiceConfig(
  overrides: Partial<QueryServiceConfig> = {},
  environment: NodeJS.ProcessEnv = process.env,
): QueryServiceConfig {
  const given = Object.fromEntries(
    Object.entries(overrides).filter(([, value]) => value !== undefined),
  ) as Partial<QueryServiceConfig>;
  const replaced = new Set(
    Object.keys(given).map((key) => variableOf[key as keyof QueryServiceConfig]),
  );
  const source: Record<string, string | undefined> = {};
  for (const name of Object.keys(environmentSchema.shape) as EnvironmentName[]) {
    // An empty variable means "unset", as shells and compose files commonly produce it.
    const value = environment[name];
    if (!replaced.has(name) && value !== undefined && value !== '') source[name] = value;
  }
  const parsed = checkedEnvironmentSchema.safeParse(source);
  if (!parsed.success) {
    throw new InvalidConfigurationError(
      parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    );
  }
  const env = parsed.data;
  const mongodbUrl = given.mongodbUrl ?? env.MONGODB_URL;
  return {
    port: env.PORT,
    rabbitmqUrl: env.RABBITMQ_URL,
    queryQueueName: env.QUERY_QUEUE_NAME,
    prefetch: env.PREFETCH,
    logLevel: env.LOG_LEVEL,
    auth: authSettingsOf(env),
    rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE,
    trustProxy: env.TRUST_PROXY,
    commandServiceUrl: env.COMMAND_SERVICE_URL.replace(/\/+$/, ''),
    commandServiceToken: env.COMMAND_SERVICE_TOKEN ?? null,
    rebuildPageSize: env.REBUILD_PAGE_SIZE,
    readyMaxLagSeconds: env.READY_MAX_LAG_SECONDS,
    readyMaxLagEvents: env.READY_MAX_LAG_EVENTS,
    ...given,
    mongodbUrl,
    mongodbDatabase: given.mongodbDatabase ?? databaseNameOf(mongodbUrl),
  };
}

function databaseNameOf(mongodbUrl: string): string {
  const match = MONGODB_URL_PATTERN.exec(mongodbUrl);
  if (!match?.[1]) throw new InvalidConfigurationError([`MONGODB_URL: names no database`]);
  return match[1];
}
