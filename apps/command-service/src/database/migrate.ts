import 'reflect-metadata';
import { createServiceLogger } from '@orders/platform';
import { loadMigrationConfig } from '../config/migration.config';
import { createDataSource, ensureDatabaseExists, runMigrations } from './data-source';

/**
 * The one-shot migration (`npm run migrate`, the compose `migrate` service, the Kubernetes
 * Job): creates the database if missing, applies pending migrations under the same advisory
 * lock the service takes, and exits 0, or 1 naming what failed.
 */
async function migrate(): Promise<void> {
  const config = loadMigrationConfig(process.env);
  const logger = createServiceLogger('command-service-migrate', config.LOG_LEVEL);
  await ensureDatabaseExists(config.DATABASE_URL);
  // Two connections: one holds the advisory lock while the other runs the migrations.
  const dataSource = createDataSource(config.DATABASE_URL, 2);
  await dataSource.initialize();
  try {
    const applied = await runMigrations(dataSource);
    logger.info({ applied }, `${applied.length} migration(s) applied; the schema is current`);
  } finally {
    await dataSource.destroy();
  }
}

migrate().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`migration failed: ${(error as Error).message}`);
    process.exit(1);
  },
);
