import { z } from 'zod';
import { parseEnvironment, urlVariable } from '@orders/platform';

/** The one-shot migration reads only what it needs, so a bad service setting cannot block it. */
const schema = z.object({
  DATABASE_URL: urlVariable(
    ['postgres:', 'postgresql:'],
    'postgres://postgres@127.0.0.1:5432/orders',
  ),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
});

export type MigrationConfig = z.infer<typeof schema>;

export function loadMigrationConfig(env: Record<string, string | undefined>): MigrationConfig {
  return parseEnvironment(schema, env);
}
