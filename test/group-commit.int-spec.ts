import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { databaseUrl, dropDatabase } from './support/postgres';
import { createVhost, deleteVhost } from './support/rabbitmq';
import { startService, type ServiceProcess } from './support/service-process';
import { uniqueName } from './support/test-names';

/**
 * Group commit: concurrent commands share transactions, and a conflict inside a shared
 * transaction (another replica appended to the same order, or took the same idempotency key)
 * costs only that command a retry, never another command's answer or events.
 */
describe('group commit', () => {
  let database: string;
  let vhost: string;
  let replicas: ServiceProcess[];
  let sql: Client;

  beforeAll(async () => {
    database = uniqueName('orders_group');
    vhost = uniqueName('orders_group');
    const amqpUrl = await createVhost(vhost);
    const env = { DATABASE_URL: databaseUrl(database), RABBITMQ_URL: amqpUrl };
    const first = await startService('command', env);
    replicas = [first, await startService('command', env)];
    sql = new Client({ connectionString: databaseUrl(database) });
    await sql.connect();
  });

  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()));
    await sql.end();
    await deleteVhost(vhost);
    await dropDatabase(database);
  });

  async function send(
    replica: ServiceProcess,
    path: string,
    body: unknown,
    headers: Record<string, string> = {},
    method = 'POST',
  ) {
    const response = await fetch(`${replica.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  /** Holds every append until the returned release: commands arrive while transactions wait. */
  async function holdAppends(): Promise<() => Promise<void>> {
    const blocker = new Client({ connectionString: databaseUrl(database) });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE order_events IN SHARE MODE');
    return async () => {
      await blocker.query('COMMIT');
      await blocker.end();
    };
  }

  /** An order replica a remembers at version 1 and replica b has moved on to version 2. */
  async function orderMovedOnBehind(a: ServiceProcess, b: ServiceProcess, customerId: string) {
    const placed = await send(a, '/orders', { customerId, currency: 'EUR' });
    const orderId = placed.body.orderId as string;
    expect(
      (await send(b, `/orders/${orderId}/items`, { sku: 'B', quantity: 1, unitPrice: 5 })).status,
    ).toBe(200);
    return orderId;
  }

  it('writes commands that arrive together in shared transactions', async () => {
    // Appends wait on the lock, so the commands arrive while transactions are in flight,
    // however fast the machine is.
    const release = await holdAppends();
    const sending = Promise.all(
      Array.from({ length: 64 }, () =>
        send(replicas[0]!, '/orders', { customerId: 'c-group', currency: 'EUR' }),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    await release();
    const answers = await sending;
    expect(answers.map((a) => a.status)).toEqual(Array(64).fill(201));
    const { rows } = await sql.query<{ orders: number; transactions: number }>(
      `SELECT count(DISTINCT order_id)::int AS orders,
              count(DISTINCT position / 10000)::int AS transactions
         FROM order_events WHERE data->>'customerId' = 'c-group'`,
    );
    expect(rows[0]!.orders).toBe(64);
    expect(rows[0]!.transactions).toBeLessThan(64);
  });

  it('retries only the command whose order another replica appended to first', async () => {
    const orderIds = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const placed = await send(replicas[0]!, '/orders', { customerId: 'c-1', currency: 'EUR' });
        return placed.body.orderId as string;
      }),
    );
    // Every order gets 12 add-item commands through each replica at once, and one keyed
    // command sent to both replicas: it must take effect once.
    const keys = orderIds.map(() => randomUUID());
    const answers = await Promise.all(
      orderIds.flatMap((orderId, o) => [
        ...Array.from({ length: 24 }, (_, i) =>
          send(replicas[i % 2]!, `/orders/${orderId}/items`, {
            sku: 'A',
            quantity: (i % 3) + 1,
            unitPrice: 10,
          }),
        ),
        ...replicas.map((replica) =>
          send(
            replica,
            `/orders/${orderId}/items`,
            { sku: 'K', quantity: 1, unitPrice: 5 },
            { 'idempotency-key': keys[o]! },
          ),
        ),
      ]),
    );
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);

    const expectedQuantity = Array.from({ length: 24 }, (_, i) => (i % 3) + 1).reduce(
      (a, b) => a + b,
    );
    for (const orderId of orderIds) {
      const { rows } = await sql.query<{ version: number; sku: string; quantity: number }>(
        `SELECT version, data->'line'->>'sku' AS sku, (data->'line'->>'quantity')::int AS quantity
           FROM order_events WHERE order_id = $1 ORDER BY position`,
        [orderId],
      );
      // OrderPlaced, 24 add-items, one keyed add-item: contiguous versions in position order.
      expect(rows.map((r) => r.version)).toEqual(Array.from({ length: 26 }, (_, i) => i + 1));
      expect(rows.filter((r) => r.sku === 'K')).toHaveLength(1);
      expect(rows.findLast((r) => r.sku === 'A')!.quantity).toBe(expectedQuantity);
    }
  });

  it('refuses alone a command whose order another replica had moved on, and writes the rest of its batch together', async () => {
    const [a, b] = replicas as [ServiceProcess, ServiceProcess];
    const orderId = await orderMovedOnBehind(a, b, 'c-moved');
    const release = await holdAppends();
    // The first transaction goes out and waits on the lock; the rest queue up for the next one,
    // with a's command on the moved order among them.
    const places = Array.from({ length: 24 }, () =>
      send(a, '/orders', { customerId: 'c-batch', currency: 'EUR' }),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const moved = send(a, `/orders/${orderId}/items`, { sku: 'C', quantity: 1, unitPrice: 5 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await release();
    expect((await Promise.all(places)).map((answer) => answer.status)).toEqual(Array(24).fill(201));
    expect(await moved).toMatchObject({ status: 200, body: { version: 3 } });
    // Rolled back for the one refusal, the queued batch would be written again command by
    // command: 24 transactions.
    const { rows } = await sql.query<{ transactions: number }>(
      `SELECT count(DISTINCT position / 10000)::int AS transactions
         FROM order_events WHERE data->>'customerId' = 'c-batch'`,
    );
    expect(rows[0]!.transactions).toBeLessThanOrEqual(6);
  });

  it('decides refusals and If-Match on the stored state, not on what a replica remembers', async () => {
    const [a, b] = replicas as [ServiceProcess, ServiceProcess];
    const orderId = await orderMovedOnBehind(a, b, 'c-2');
    // On a's remembered state there is no line B to remove and version 2 is not current.
    const removed = await send(a, `/orders/${orderId}/items/B`, undefined, {}, 'DELETE');
    expect(removed).toMatchObject({ status: 200, body: { version: 3 } });
    const added = await send(
      a,
      `/orders/${orderId}/items`,
      { sku: 'C', quantity: 1, unitPrice: 5 },
      { 'if-match': '"3"' },
    );
    expect(added).toMatchObject({ status: 200, body: { version: 4 } });
  });

  it('refuses to place an order again through a replica that has not seen it', async () => {
    const [a, b] = replicas as [ServiceProcess, ServiceProcess];
    const orderId = randomUUID();
    const body = { orderId, customerId: 'c-3', currency: 'EUR' };
    expect((await send(a, '/orders', body)).status).toBe(201);
    // b presumes a new order new, so its first append fails the version check.
    const again = await send(b, '/orders', body);
    expect(again).toMatchObject({ status: 409, body: { code: 'ORDER_ALREADY_EXISTS' } });
    const { rows } = await sql.query(
      'SELECT count(*)::int AS n FROM order_events WHERE order_id = $1',
      [orderId],
    );
    expect(rows[0]).toEqual({ n: 1 });
  });
});
