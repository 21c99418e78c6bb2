import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from './support/mongo-test-database';
import { databaseUrl, dropDatabase } from './support/postgres';
import { createVhost, deleteVhost } from './support/rabbitmq';
import { startService, type ServiceProcess } from './support/service-process';
import { uniqueName } from './support/test-names';

const MAIN = {
  command: join(__dirname, '..', 'dist/apps/command-service/apps/command-service/src/main.js'),
  query: join(__dirname, '..', 'dist/apps/query-service/apps/query-service/src/main.js'),
};
const LIMIT = 2;

/** TRUST_PROXY decides whether X-Forwarded-For names the client the rate limiter counts. */
describe('TRUST_PROXY: the client address behind a proxy (both services)', () => {
  const database = uniqueName('orders_proxy');
  const vhost = uniqueName('orders_proxy');
  let amqpUrl: string;
  let readStore: TestDatabase;
  const started: ServiceProcess[] = [];

  const env = (kind: 'command' | 'query'): Record<string, string> =>
    kind === 'command'
      ? { DATABASE_URL: databaseUrl(database), RABBITMQ_URL: amqpUrl, RELAY_ENABLED: 'false' }
      : { MONGODB_URL: readStore.url, RABBITMQ_URL: amqpUrl };
  const route = { command: '/events?limit=1', query: '/orders?limit=1' };

  beforeAll(async () => {
    amqpUrl = await createVhost(vhost);
    readStore = await createTestDatabase('orders_proxy');
  });

  afterAll(async () => {
    await Promise.all(started.map((service) => service.stop()));
    await readStore.drop();
    await deleteVhost(vhost);
    await dropDatabase(database);
  });

  /** Statuses of LIMIT + 1 requests from each of two forwarded addresses, in turn. */
  async function statusesFor(
    kind: 'command' | 'query',
    trustProxy?: string,
    forwardedFor = (client: string, _request: number) => client,
  ) {
    const service = await startService(kind, {
      ...env(kind),
      RATE_LIMIT_PER_MINUTE: String(LIMIT),
      ...(trustProxy === undefined ? {} : { TRUST_PROXY: trustProxy }),
    });
    started.push(service);
    const statuses: Record<string, number[]> = { '203.0.113.7': [], '198.51.100.9': [] };
    for (let i = 0; i <= LIMIT; i++) {
      for (const client of Object.keys(statuses)) {
        const response = await fetch(`${service.url}${route[kind]}`, {
          headers: { 'x-forwarded-for': forwardedFor(client, i) },
        });
        statuses[client]!.push(response.status);
      }
    }
    return statuses;
  }

  it.each(['command', 'query'] as const)(
    '%s service: off by default, so forwarded addresses are one client',
    async (kind) => {
      expect(await statusesFor(kind)).toEqual({
        '203.0.113.7': [200, 429, 429],
        '198.51.100.9': [200, 429, 429],
      });
    },
  );

  it.each(['command', 'query'] as const)(
    '%s service: TRUST_PROXY=loopback counts each forwarded address on its own',
    async (kind) => {
      expect(await statusesFor(kind, 'loopback')).toEqual({
        '203.0.113.7': [200, 200, 429],
        '198.51.100.9': [200, 200, 429],
      });
    },
  );

  it.each(['command', 'query'] as const)(
    '%s service: TRUST_PROXY=1 takes the address the one trusted proxy appended',
    async (kind) => {
      // Each request claims another address before the client's: a client may send any
      // X-Forwarded-For, and the proxy appends the address it saw.
      const spoofing = (client: string, request: number) => `192.0.2.${request + 1}, ${client}`;
      expect(await statusesFor(kind, '1', spoofing)).toEqual({
        '203.0.113.7': [200, 200, 429],
        '198.51.100.9': [200, 200, 429],
      });
    },
  );

  it.each([
    ['command', 'true'],
    ['query', '10.0.0.0/40'],
  ] as const)('%s service refuses to start with TRUST_PROXY=%s, naming it', (kind, value) => {
    const run = spawnSync(process.execPath, [MAIN[kind]], {
      env: { PATH: process.env.PATH, ...env(kind), PORT: '0', TRUST_PROXY: value },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).not.toBe(0);
    expect(run.status).not.toBeNull();
    expect(run.stderr).toContain('TRUST_PROXY');
  });
});
