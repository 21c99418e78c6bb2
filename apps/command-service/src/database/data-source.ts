import { DataSource } from 'typeorm';
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

/** Runs pending migrations; an advisory lock makes replicas that start together take turns. */
export async function runMigrations(dataSource: DataSource): Promise<void> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
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
    // Another replica created it at the same moment: that is the outcome we wanted.
    if ((error as { code?: string }).code !== '42P04') throw error;
  } finally {
    await admin.destroy();
  }
}
