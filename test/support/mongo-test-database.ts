import { MongoClient } from 'mongodb';
import { uniqueName } from './test-names';

const MONGODB_BASE_URL = process.env.TEST_MONGODB_URL ?? 'mongodb://127.0.0.1:27017';

export interface TestDatabase {
  name: string;
  /** MongoDB URL naming this database, as services take it in MONGODB_URL. */
  url: string;
  /** A client for asserting on stored documents directly. */
  client: MongoClient;
  /** Drops the database and closes the client. */
  drop(): Promise<void>;
}

/**
 * Connections per client. FerretDB 1.24 (PostgreSQL backend) deadlocks when its 50 backend
 * connections are all taken while a createIndexes or drop holds its metadata lock (seen here:
 * a query service starting while another projected with 100+ operations in flight). A test
 * run has at most four clients at once, so ten each keeps FerretDB's pool from running dry.
 */
const MAX_POOL_SIZE = 10;

/** A MongoDB database of its own for one test file, dropped at the end. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const name = uniqueName(prefix);
  const url = `${MONGODB_BASE_URL.replace(/\/+$/, '')}/${name}?maxPoolSize=${MAX_POOL_SIZE}`;
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5_000 });
  await client.connect();
  return {
    name,
    url,
    client,
    drop: async () => {
      try {
        await client.db(name).dropDatabase();
      } finally {
        await client.close();
      }
    },
  };
}
