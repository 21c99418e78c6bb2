import { DataSource, MigrationExecutor } from 'typeorm';
import { CreateEventStore1764201600000 } from './migrations/1764201600000-create-event-store';
import { CreateIdempotencyKeys1764201700000 } from './migrations/1764201700000-create-idempotency-keys';
import { CreateOrderSnapshots1764201800000 } from './migrations/1764201800000-create-order-snapshots';

export const migrations = [
  CreateEventStore1764201600000,
  CreateIdempotencyKeys1764201700000,
  CreateOrderSnapshots1764201800000,
];

export function createDataSource(url: string, poolSize = 20): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    migrations,
    migrationsTableName: 'schema_migrations',
    synchronize: false,
    poolSize,
    extra: { application_name: 'orders-command-service' },
  });
}

const MIGRATION_LOCK = 7_310_001;

/**
 * Runs pending migrations and names the ones it applied; an advisory lock makes replicas (and
 * a migration job) that start together take turns.
 */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
}

/** The migrations this code needs that the database has not had yet. */
export async function pendingMigrations(dataSource: DataSource): Promise<string[]> {
  const pending = await new MigrationExecutor(dataSource).getPendingMigrations();
  return pending.map((migration) => migration.name);
}

/** For replicas that leave migrations to the one-shot: refuse to run on an older schema. */
export async function requireCurrentSchema(dataSource: DataSource): Promise<void> {
  const pending = await pendingMigrations(dataSource);
  if (pending.length === 0) return;
  throw new Error(
    `The event store's schema is behind: ${pending.length} migration(s) pending ` +
      `(${pending.join(', ')}). Run the migration first (npm run migrate, the compose ` +
      `migrate service or the Kubernetes Job), or set MIGRATIONS_AT_START=true.`,
  );
}

/** Creates the database named in the URL when it does not exist yet (local runs and tests). */
export async function ensureDatabaseExists(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!/^[A-Za-z0-9_]+$/.test(name)) return;
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const admin = new DataSource({
    type: 'postgres',
    url: maintenance.toString(),
    poolSize: 1,
  });
  await admin.initialize();
  try {
    const rows: unknown[] = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      name,
    ]);
    if (rows.length === 0) await admin.query(`CREATE DATABASE "${name}"`);
  } catch (error) {
    // Another replica created it at the same moment: that is the outcome we wanted. PostgreSQL
    // says so with 42P04 (already exists), or, when both passed its name check at once, with
    // 23505 (a unique violation in its catalog).
    const code = (error as { code?: string }).code;
    if (code !== '42P04' && code !== '23505') throw error;
  } finally {
    await admin.destroy();
  }
}
