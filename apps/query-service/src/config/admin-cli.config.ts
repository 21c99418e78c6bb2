import { z } from 'zod';
import { InvalidConfigurationError } from './query-service.config';

/** What the admin command-line tools need: where the query service's admin API answers. */
export interface AdminCliConfig {
  queryServiceUrl: string;
  /** Sent as `Authorization: Bearer` when the service requires auth (scope `orders:admin`). */
  adminToken: string | undefined;
}

const schema = z.object({
  QUERY_SERVICE_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .default('http://127.0.0.1:3001'),
  QUERY_SERVICE_TOKEN: z.string().min(1).optional(),
});

export function loadAdminCliConfig(environment: NodeJS.ProcessEnv = process.env): AdminCliConfig {
  const parsed = schema.safeParse({
    QUERY_SERVICE_URL: environment.QUERY_SERVICE_URL || undefined,
    QUERY_SERVICE_TOKEN: environment.QUERY_SERVICE_TOKEN || undefined,
  });
  if (!parsed.success) {
    throw new InvalidConfigurationError(
      parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    );
  }
  return {
    queryServiceUrl: parsed.data.QUERY_SERVICE_URL.replace(/\/+$/, ''),
    adminToken: parsed.data.QUERY_SERVICE_TOKEN,
  };
}
