import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { ensureDatabaseExists, migrations } from '../apps/command-service/src/database/data-source';
import { ensureServiceBuilt } from './support/build-service';
import { createDatabase, databaseUrl, dropDatabase } from './support/postgres';
import { createVhost, deleteVhost } from './support/rabbitmq';
import { startService } from './support/service-process';
import { uniqueName } from './support/test-names';

const MIGRATE = join(
  __dirname,
  '..',
  'dist/apps/command-service/apps/command-service/src/database/migrate.js',
);
const ADMIN_URL = databaseUrl('postgres');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built one-shot migration as the compose service and the Kubernetes Job do. */
function runMigrate(env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [MIGRATE],
      { env: { PATH: process.env.PATH, ...env }, timeout: 60_000 },
      (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

async function adminQuery<T>(sql: string, params: unknown[] = [], url = ADMIN_URL): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('one-shot migration (npm run migrate)', () => {
  const databases: string[] = [];
  let vhost: string;
  let amqpUrl: string;

  beforeAll(async () => {
    ensureServiceBuilt('command-service');
    vhost = uniqueName('orders_migrate');
    amqpUrl = await createVhost(vhost);
  });

  afterAll(async () => {
    await deleteVhost(vhost);
    for (const name of databases) await dropDatabase(name);
  });

  function newDatabase(): string {
    const name = uniqueName('orders_migrate');
    databases.push(name);
    return name;
  }

  it('creates the database, applies every migration once, then serves with MIGRATIONS_AT_START=false', async () => {
    const database = newDatabase();

    const first = await runMigrate({ DATABASE_URL: databaseUrl(database) });
    expect(first).toMatchObject({ code: 0, stderr: '' });
    const names = migrations.map((migration) => migration.name);
    expect(JSON.parse(first.stdout)).toMatchObject({ level: 'info', applied: names });
    const applied = await adminQuery<{ name: string }>(
      'SELECT name FROM schema_migrations ORDER BY id',
      [],
      databaseUrl(database),
    );
    expect(applied.map((row) => row.name)).toEqual(names);

    const again = await runMigrate({ DATABASE_URL: databaseUrl(database) });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ applied: [] });

    const service = await startService('command', {
      DATABASE_URL: databaseUrl(database),
      RABBITMQ_URL: amqpUrl,
      MIGRATIONS_AT_START: 'false',
    });
    try {
      const ready = await fetch(`${service.url}/health/ready`);
      expect(ready.status).toBe(200);
      const placed = await fetch(`${service.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ customerId: 'c-1', currency: 'EUR' }),
      });
      expect(placed.status).toBe(201);
    } finally {
      await service.stop();
    }
  });

  it('lets replicas starting together create the same new database', async () => {
    // PostgreSQL checks a new database's name before it takes its lock: two CREATE DATABASE at
    // once can fail on the catalog's unique index (23505) instead of "already exists".
    const database = newDatabase();
    const starts = await Promise.allSettled(
      Array.from({ length: 8 }, () => ensureDatabaseExists(databaseUrl(database))),
    );
    expect(starts.filter((start) => start.status === 'rejected')).toEqual([]);
    const found = await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    expect(found).toHaveLength(1);
  });

  it('a replica with MIGRATIONS_AT_START=false refuses a schema with pending migrations', async () => {
    const database = newDatabase();
    await createDatabase(database);

    const refused = startService('command', {
      DATABASE_URL: databaseUrl(database),
      RABBITMQ_URL: amqpUrl,
      MIGRATIONS_AT_START: 'false',
    });
    await expect(refused).rejects.toThrow(/schema is behind: 3 migration\(s\) pending/);
    const tables = await adminQuery<{ count: string }>(
      "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
      [],
      databaseUrl(database),
    );
    expect(tables[0]?.count).toBe('0');
  });

  it('exits 1 naming the cause when PostgreSQL is unreachable or the URL is bad', async () => {
    const unreachable = await runMigrate({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/orders',
    });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/migration failed: .*ECONNREFUSED/);

    const invalid = await runMigrate({ DATABASE_URL: 'mysql://localhost/orders' });
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/DATABASE_URL: must be a URL starting with postgres:/);
  });
});
