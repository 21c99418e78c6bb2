import { MongoClient } from 'mongodb';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { MongoHeartbeatWatchdog } from '../apps/query-service/src/read-store/mongo-heartbeat.watchdog';
import { createTestDatabase, type TestDatabase } from './support/mongo-test-database';
import { waitFor } from './support/wait-for';

/**
 * A TCP proxy to the MongoDB-compatible server that can freeze the connections it carries
 * (they stay open and carry nothing more) while new ones pass as before.
 */
class FreezingProxy {
  private readonly server: Server;
  private readonly pairs = new Set<[Socket, Socket]>();

  constructor(target: URL) {
    this.server = createServer((client) => {
      const upstream = createConnection(Number(target.port || 27017), target.hostname);
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      client.pipe(upstream).pipe(client);
      const drop = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as { port: number }).port;
  }

  /** Every connection open now stops carrying data in both directions, and stays open. */
  freezeOpenConnections(): number {
    for (const [client, upstream] of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
    return this.pairs.size;
  }

  async close(): Promise<void> {
    for (const [client, upstream] of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/**
 * The driver's monitor can wait for good on a heartbeat (seen after a FerretDB restart: a
 * `hello` written to a socket destroyed a moment before). A frozen connection with no socket
 * timeout makes the same heartbeat that never ends; the watchdog must connect the client again.
 */
describe('read store heartbeat watchdog', () => {
  let store: TestDatabase;
  let proxy: FreezingProxy;
  let client: MongoClient;
  let watchdog: MongoHeartbeatWatchdog;
  const heartbeats: { ok: number; at: number }[] = [];

  beforeAll(async () => {
    store = await createTestDatabase('watchdog');
    proxy = new FreezingProxy(new URL(store.url));
    const port = await proxy.listen();
    client = new MongoClient(`mongodb://127.0.0.1:${port}/${store.name}?directConnection=true`, {
      // No socket timeout: a heartbeat on a frozen connection neither answers nor fails.
      connectTimeoutMS: 0,
      heartbeatFrequencyMS: 500,
      serverSelectionTimeoutMS: 2_000,
      // Polling, as against FerretDB: one heartbeat per interval, each one answered or failed.
      serverMonitoringMode: 'poll',
    });
    client.on('serverHeartbeatSucceeded', () => heartbeats.push({ ok: 1, at: Date.now() }));
    await client.connect();
    await client
      .db()
      .collection('things')
      .insertOne({ _id: 'a' as never, n: 1 });
    watchdog = new MongoHeartbeatWatchdog(client, { stuckAfterMs: 2_000, retryMs: 200 });
  });

  afterAll(async () => {
    await watchdog?.stop();
    await client?.close();
    await proxy?.close();
    await store?.drop();
  });

  it('leaves a healthy client alone', async () => {
    const before = heartbeats.length;
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(heartbeats.length - before).toBeGreaterThanOrEqual(3);
    expect(watchdog.reconnects).toBe(0);
  });

  it('connects the client again when a heartbeat never ends, and the client works after', async () => {
    expect(proxy.freezeOpenConnections()).toBeGreaterThan(0);
    const frozenAt = Date.now();
    // The new topology's first heartbeat can come before connect() returns to the watchdog.
    await waitFor(
      'the client connected again and a heartbeat answered after the freeze',
      () =>
        watchdog.reconnects > 0 && heartbeats.some((h) => h.at > frozenAt + 500) ? true : undefined,
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(watchdog.reconnects).toBe(1);
    const found = await client
      .db()
      .collection('things')
      .findOne({ _id: 'a' as never });
    expect(found).toEqual({ _id: 'a', n: 1 });
  });
});
