import { Client } from 'pg';

const ADMIN_URL =
  process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Creates a test database with the settings its sessions start with (`ALTER DATABASE ... SET`). */
export async function createDatabase(name: string, settings: Record<string, string> = {}) {
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
    for (const [setting, value] of Object.entries(settings)) {
      await client.query(`ALTER DATABASE "${name}" SET ${setting} = ${value}`);
    }
  } finally {
    await client.end();
  }
}

/** Drops a test database, closing whatever sessions a killed service left behind. */
export async function dropDatabase(name: string): Promise<void> {
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/**
 * Opens a transaction in `name` and gives it an id, so that it holds the relay's visibility
 * horizon until it ends. Errors of the connection (a terminated backend) are the caller's to see
 * on its next query, not an unhandled 'error' event.
 */
export async function openTransactionWithId(name: string): Promise<Client> {
  const client = new Client({ connectionString: databaseUrl(name) });
  client.on('error', () => undefined);
  await client.connect();
  await client.query('BEGIN');
  await client.query('SELECT pg_current_xact_id()');
  return client;
}
