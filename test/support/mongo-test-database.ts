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
 * Connections per client. FerretDB 1.24's PostgreSQL backend deadlocks for good once as many
 * updates run at once as it has backend connections (50): each update holds one connection
 * for its query and waits for a second for its write (reproduced with a pool of 5 and
 * 100 concurrent updateOne calls). The driver runs one operation per connection, so capping
 * every client at 10 keeps a test run (at most four clients at once) below that.
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
