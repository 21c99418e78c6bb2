import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { databaseUrl, dropDatabase } from './support/postgres';
import { createVhost, deleteVhost, ExchangeObserver } from './support/rabbitmq';
import { startService, type ServiceProcess } from './support/service-process';
import { uniqueName } from './support/test-names';
import { delay, waitFor } from './support/wait-for';

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

describe('command API', () => {
  let database: string;
  let vhost: string;
  let service: ServiceProcess;
  let observer: ExchangeObserver;
  let sql: Client;

  beforeAll(async () => {
    database = uniqueName('orders_api');
    vhost = uniqueName('orders_api');
    const amqpUrl = await createVhost(vhost);
    observer = await ExchangeObserver.start(amqpUrl, 'orders.events');
    service = await startService('command', {
      DATABASE_URL: databaseUrl(database),
      RABBITMQ_URL: amqpUrl,
    });
    sql = new Client({ connectionString: databaseUrl(database) });
    await sql.connect();
  });

  afterAll(async () => {
    await service.stop();
    await sql.end();
    await observer.close();
    await deleteVhost(vhost);
    await dropDatabase(database);
  });

  async function send(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const raw =
      typeof body === 'string' ? body : body === undefined ? undefined : JSON.stringify(body);
    const response = await fetch(`${service.url}${path}`, {
      method,
      headers: { ...(raw === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(raw === undefined ? {} : { body: raw }),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text ? JSON.parse(text) : {},
    };
  }

  async function eventCount(orderId?: string): Promise<number> {
    const result = orderId
      ? await sql.query('SELECT count(*)::int AS n FROM order_events WHERE order_id = $1', [
          orderId,
        ])
      : await sql.query('SELECT count(*)::int AS n FROM order_events');
    return (result.rows[0] as { n: number }).n;
  }

  async function draftOrder(): Promise<string> {
    const placed = await send('POST', '/orders', { customerId: 'c-1', currency: 'EUR' });
    expect(placed.status).toBe(201);
    return placed.body.orderId as string;
  }

  it('places an order and answers with Location, ETag and a consistency token', async () => {
    const orderId = randomUUID();
    const placed = await send('POST', '/orders', {
      orderId,
      customerId: 'c-1',
      currency: 'EUR',
      items: [{ sku: 'A', quantity: 2, unitPrice: 150 }],
    });
    expect(placed.status).toBe(201);
    expect(placed.headers.get('location')).toBe(`/orders/${orderId}`);
    expect(placed.headers.get('etag')).toBe('"1"');
    expect(placed.body).toEqual({ orderId, version: 1, consistencyToken: expect.any(String) });
    const again = await send('POST', '/orders', { orderId, customerId: 'c-1', currency: 'EUR' });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('ORDER_ALREADY_EXISTS');
  });

  it('walks an order through its whole life', async () => {
    const orderId = await draftOrder();
    expect(
      (await send('POST', `/orders/${orderId}/items`, { sku: 'A', quantity: 2, unitPrice: 500 }))
        .status,
    ).toBe(200);
    expect(
      (await send('POST', `/orders/${orderId}/items`, { sku: 'B', quantity: 1, unitPrice: 100 }))
        .status,
    ).toBe(200);
    expect((await send('DELETE', `/orders/${orderId}/items/B`)).status).toBe(200);
    expect((await send('POST', `/orders/${orderId}/confirm`)).status).toBe(200);
    const wrongAmount = await send('POST', `/orders/${orderId}/pay`, {
      paymentId: 'p-1',
      amount: 999,
    });
    expect(wrongAmount.status).toBe(409);
    expect(wrongAmount.body.code).toBe('PAYMENT_AMOUNT_MISMATCH');
    expect(
      (await send('POST', `/orders/${orderId}/pay`, { paymentId: 'p-1', amount: 1000 })).body
        .version,
    ).toBe(6);
    const samePayment = await send('POST', `/orders/${orderId}/pay`, {
      paymentId: 'p-1',
      amount: 1000,
    });
    expect(samePayment).toMatchObject({ status: 200, body: { version: 6 } });
    const otherPayment = await send('POST', `/orders/${orderId}/pay`, {
      paymentId: 'p-2',
      amount: 1000,
    });
    expect(otherPayment.body.code).toBe('PAYMENT_ALREADY_RECORDED');
    const shipped = await send('POST', `/orders/${orderId}/ship`, {
      carrier: 'DHL',
      trackingNumber: 'T-1',
    });
    expect(shipped).toMatchObject({ status: 200, body: { version: 7 } });
    const cancel = await send('POST', `/orders/${orderId}/cancel`, { reason: 'too late' });
    expect(cancel).toMatchObject({ status: 409, body: { code: 'ORDER_CLOSED' } });
    expect(await eventCount(orderId)).toBe(7);
  });

  it('decides 50 concurrent add-item commands on one order each on the latest state', async () => {
    const orderId = await draftOrder();
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        send('POST', `/orders/${orderId}/items`, {
          sku: 'A',
          quantity: (i % 3) + 1,
          unitPrice: 10,
        }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    expect(new Set(answers.map((a) => a.body.version)).size).toBe(50);
    const expectedQuantity = Array.from({ length: 50 }, (_, i) => (i % 3) + 1).reduce(
      (a, b) => a + b,
    );
    const last = await sql.query(
      `SELECT data FROM order_events WHERE order_id = $1 ORDER BY version DESC LIMIT 1`,
      [orderId],
    );
    expect((last.rows[0] as { data: { line: { quantity: number } } }).data.line.quantity).toBe(
      expectedQuantity,
    );
  });

  it('refuses a stale If-Match with 412 and the current version', async () => {
    const orderId = await draftOrder();
    const stale = await send(
      'POST',
      `/orders/${orderId}/items`,
      { sku: 'A', quantity: 1, unitPrice: 1 },
      { 'if-match': '"7"' },
    );
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ code: 'VERSION_MISMATCH', currentVersion: 1 });
    const fresh = await send(
      'POST',
      `/orders/${orderId}/items`,
      { sku: 'A', quantity: 1, unitPrice: 1 },
      { 'if-match': '"1"' },
    );
    expect(fresh).toMatchObject({ status: 200, body: { version: 2 } });
    // Of concurrent commands made against the same version, exactly one wins.
    const racing = await Promise.all(
      Array.from({ length: 10 }, () =>
        send(
          'POST',
          `/orders/${orderId}/items`,
          { sku: 'A', quantity: 1, unitPrice: 1 },
          { 'if-match': '"2"' },
        ),
      ),
    );
    expect(racing.filter((a) => a.status === 200)).toHaveLength(1);
    expect(racing.filter((a) => a.status === 412)).toHaveLength(9);
  });

  describe('Idempotency-Key', () => {
    it('replays the first answer for a repeat and changes nothing', async () => {
      const key = randomUUID();
      const body = { customerId: 'c-idem', currency: 'EUR' };
      const first = await send('POST', '/orders', body, { 'idempotency-key': key });
      const repeat = await send('POST', '/orders', body, { 'idempotency-key': key });
      expect(first.status).toBe(201);
      expect(repeat.status).toBe(201);
      expect(repeat.body).toEqual(first.body);
      expect(repeat.headers.get('idempotent-replayed')).toBe('true');
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      expect(await eventCount(first.body.orderId as string)).toBe(1);
    });

    it('answers 422 for the same key with another request', async () => {
      const key = randomUUID();
      await send(
        'POST',
        '/orders',
        { customerId: 'c-1', currency: 'EUR' },
        { 'idempotency-key': key },
      );
      const reused = await send(
        'POST',
        '/orders',
        { customerId: 'c-2', currency: 'EUR' },
        { 'idempotency-key': key },
      );
      expect(reused.status).toBe(422);
      expect(reused.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    });

    it('replays a refusal as the same refusal', async () => {
      const orderId = await draftOrder();
      const key = randomUUID();
      const first = await send('POST', `/orders/${orderId}/confirm`, undefined, {
        'idempotency-key': key,
      });
      expect(first.status).toBe(409);
      await send('POST', `/orders/${orderId}/items`, { sku: 'A', quantity: 1, unitPrice: 1 });
      const repeat = await send('POST', `/orders/${orderId}/confirm`, undefined, {
        'idempotency-key': key,
      });
      expect(repeat.status).toBe(409);
      expect(repeat.body).toEqual(first.body);
      expect(repeat.headers.get('idempotent-replayed')).toBe('true');
    });

    it('does not record a concurrency conflict: a retry with the key runs again', async () => {
      const orderId = await draftOrder();
      const key = randomUUID();
      const item = { sku: 'C', quantity: 1, unitPrice: 7 };
      // Every append to this order skips its rows, as when other writers keep winning: each of
      // the runner's attempts ends in a version conflict, until it gives up with a 409.
      const trigger = uniqueName('skip_appends');
      await sql.query(`CREATE FUNCTION ${trigger}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RETURN CASE WHEN NEW.order_id = '${orderId}' THEN NULL ELSE NEW END; END $$`);
      await sql.query(`CREATE TRIGGER ${trigger} BEFORE INSERT ON order_events
        FOR EACH ROW EXECUTE FUNCTION ${trigger}()`);
      let conflict: Answer;
      try {
        conflict = await send('POST', `/orders/${orderId}/items`, item, { 'idempotency-key': key });
      } finally {
        await sql.query(`DROP TRIGGER ${trigger} ON order_events`);
        await sql.query(`DROP FUNCTION ${trigger}()`);
      }
      expect(conflict.status).toBe(409);
      expect(conflict.body.code).toBe('CONCURRENCY_CONFLICT');
      const retry = await send('POST', `/orders/${orderId}/items`, item, {
        'idempotency-key': key,
      });
      expect(retry.status).toBe(200);
      expect(retry.headers.get('idempotent-replayed')).toBeNull();
      expect(await eventCount(orderId)).toBe(2);
    });

    it('gives concurrent repeats of one key exactly one effect', async () => {
      const orderId = await draftOrder();
      const key = randomUUID();
      const answers = await Promise.all(
        Array.from({ length: 20 }, () =>
          send(
            'POST',
            `/orders/${orderId}/items`,
            { sku: 'K', quantity: 1, unitPrice: 5 },
            { 'idempotency-key': key },
          ),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
      expect(new Set(answers.map((a) => JSON.stringify(a.body))).size).toBe(1);
      expect(await eventCount(orderId)).toBe(2);
    });
  });

  it('answers 503 to every command of a batch whose connection broke, and writes none again', async () => {
    // A broken connection may have taken the batch's COMMIT with it: written again command by
    // command, a command without an idempotency key could run twice. Here the connection of
    // every transaction holding this customer's orders dies at commit, and a sequence (outside
    // transactions) counts the attempts.
    const customerId = `c-${randomUUID()}`;
    const name = uniqueName('kill_at_commit');
    await sql.query(`CREATE SEQUENCE ${name}`);
    await sql.query(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.data->>'customerId' = '${customerId}' THEN
          PERFORM nextval('${name}');
          PERFORM pg_terminate_backend(pg_backend_pid());
        END IF;
        RETURN NULL;
      END $$`);
    await sql.query(`CREATE CONSTRAINT TRIGGER ${name} AFTER INSERT ON order_events
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ${name}()`);
    const place = () =>
      send('POST', '/orders', { orderId: randomUUID(), customerId, currency: 'EUR' });
    let answers: Answer[];
    try {
      // The first command's transaction waits for the lock; the seven sent meanwhile wait for
      // it and share the next transaction.
      const lock = new Client({ connectionString: databaseUrl(database) });
      await lock.connect();
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE order_events IN EXCLUSIVE MODE');
      const first = place();
      await waitFor('the first insert to wait for the lock', async () => {
        const { rows } = await sql.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_locks WHERE relation = 'order_events'::regclass AND NOT granted",
        );
        return rows[0]!.n > 0;
      });
      const rest = Array.from({ length: 7 }, place);
      await delay(1000);
      await lock.query('COMMIT');
      await lock.end();
      answers = await Promise.all([first, ...rest]);
    } finally {
      await sql.query(`DROP TRIGGER ${name} ON order_events`);
      await sql.query(`DROP FUNCTION ${name}()`);
    }
    const { rows } = await sql.query<{ attempts: string }>(
      `SELECT last_value AS attempts FROM ${name}`,
    );
    await sql.query(`DROP SEQUENCE ${name}`);
    expect(answers.map((answer) => answer.status)).toEqual(Array(8).fill(503));
    // The first transaction and the batch of seven; written again one by one, 9.
    expect(Number(rows[0]!.attempts)).toBe(2);
    const { rows: stored } = await sql.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM order_events WHERE data->>'customerId' = $1",
      [customerId],
    );
    expect(stored[0]!.n).toBe(0);
  });

  it('refuses every bad request with a 4xx problem and stores nothing', async () => {
    const orderId = await draftOrder();
    const unknown = randomUUID();
    const line = { sku: 'A', quantity: 1, unitPrice: 1 };
    const json = { 'content-type': 'application/json' };
    type Case = [string, string, string, unknown, Record<string, string>?, number?];
    const cases: Case[] = [
      ['missing customerId', 'POST', '/orders', { currency: 'EUR' }],
      ['missing currency', 'POST', '/orders', { customerId: 'c' }],
      ['empty body object', 'POST', '/orders', {}],
      ['lower-case currency', 'POST', '/orders', { customerId: 'c', currency: 'eur' }],
      ['four-letter currency', 'POST', '/orders', { customerId: 'c', currency: 'EURO' }],
      ['customerId with a space', 'POST', '/orders', { customerId: 'c 1', currency: 'EUR' }],
      ['customerId too long', 'POST', '/orders', { customerId: 'c'.repeat(65), currency: 'EUR' }],
      ['customerId empty', 'POST', '/orders', { customerId: '', currency: 'EUR' }],
      ['customerId unicode', 'POST', '/orders', { customerId: 'kündé', currency: 'EUR' }],
      ['customerId a number', 'POST', '/orders', { customerId: 42, currency: 'EUR' }],
      ['orderId not a uuid', 'POST', '/orders', { orderId: 'x', customerId: 'c', currency: 'EUR' }],
      ['extra field', 'POST', '/orders', { customerId: 'c', currency: 'EUR', admin: true }],
      [
        '__proto__ key',
        'POST',
        '/orders',
        '{"customerId":"c","currency":"EUR","__proto__":{"x":1}}',
      ],
      [
        'constructor key',
        'POST',
        '/orders',
        '{"customerId":"c","currency":"EUR","constructor":{"prototype":{}}}',
      ],
      ['items not an array', 'POST', '/orders', { customerId: 'c', currency: 'EUR', items: {} }],
      [
        'duplicate skus',
        'POST',
        '/orders',
        { customerId: 'c', currency: 'EUR', items: [line, line] },
      ],
      [
        '101 lines',
        'POST',
        '/orders',
        {
          customerId: 'c',
          currency: 'EUR',
          items: Array.from({ length: 101 }, (_, i) => ({ ...line, sku: `S${i}` })),
        },
      ],
      ['invalid JSON', 'POST', '/orders', '{"customerId":'],
      ['JSON array body', 'POST', '/orders', '[1,2]'],
      ['JSON string body', 'POST', '/orders', '"x"'],
      ['text/plain body', 'POST', '/orders', 'customerId=c', { 'content-type': 'text/plain' }, 415],
      [
        'form body',
        'POST',
        '/orders',
        'a=b',
        { 'content-type': 'application/x-www-form-urlencoded' },
        415,
      ],
      [
        'body over 64 KiB',
        'POST',
        '/orders',
        JSON.stringify({ customerId: 'c', currency: 'EUR', pad: 'x'.repeat(70_000) }),
        json,
        413,
      ],
      ['quantity zero', 'POST', `/orders/${orderId}/items`, { ...line, quantity: 0 }],
      ['quantity negative', 'POST', `/orders/${orderId}/items`, { ...line, quantity: -1 }],
      ['quantity fractional', 'POST', `/orders/${orderId}/items`, { ...line, quantity: 1.5 }],
      ['quantity 1001', 'POST', `/orders/${orderId}/items`, { ...line, quantity: 1001 }],
      ['quantity a string', 'POST', `/orders/${orderId}/items`, { ...line, quantity: '1' }],
      [
        'quantity huge',
        'POST',
        `/orders/${orderId}/items`,
        '{"sku":"A","quantity":1e309,"unitPrice":1}',
      ],
      ['unitPrice negative', 'POST', `/orders/${orderId}/items`, { ...line, unitPrice: -5 }],
      [
        'unitPrice over the limit',
        'POST',
        `/orders/${orderId}/items`,
        { ...line, unitPrice: 100_000_001 },
      ],
      ['unitPrice fractional', 'POST', `/orders/${orderId}/items`, { ...line, unitPrice: 9.99 }],
      ['unitPrice null', 'POST', `/orders/${orderId}/items`, { ...line, unitPrice: null }],
      ['sku with slash', 'POST', `/orders/${orderId}/items`, { ...line, sku: 'a/b' }],
      ['sku an operator', 'POST', `/orders/${orderId}/items`, { ...line, sku: { $gt: '' } }],
      ['line extra field', 'POST', `/orders/${orderId}/items`, { ...line, discount: 1 }],
      ['order id not a uuid', 'POST', '/orders/not-a-uuid/items', line],
      ['unknown order', 'POST', `/orders/${unknown}/items`, line, json, 404],
      ['unknown order confirm', 'POST', `/orders/${unknown}/confirm`, undefined, {}, 404],
      ['remove sku not on order', 'DELETE', `/orders/${orderId}/items/ZZZ`, undefined, {}, 409],
      [
        'remove invalid sku',
        'DELETE',
        `/orders/${orderId}/items/${encodeURIComponent('bad sku')}`,
        undefined,
      ],
      ['confirm with a body field', 'POST', `/orders/${orderId}/confirm`, { force: true }],
      ['confirm an empty order', 'POST', `/orders/${orderId}/confirm`, undefined, {}, 409],
      ['pay missing amount', 'POST', `/orders/${orderId}/pay`, { paymentId: 'p' }],
      ['pay amount a string', 'POST', `/orders/${orderId}/pay`, { paymentId: 'p', amount: '10' }],
      ['pay a draft', 'POST', `/orders/${orderId}/pay`, { paymentId: 'p', amount: 0 }, json, 409],
      [
        'ship carrier empty',
        'POST',
        `/orders/${orderId}/ship`,
        { carrier: '', trackingNumber: 'T' },
      ],
      [
        'ship tracking too long',
        'POST',
        `/orders/${orderId}/ship`,
        { carrier: 'D', trackingNumber: 'T'.repeat(65) },
      ],
      ['cancel without reason', 'POST', `/orders/${orderId}/cancel`, {}],
      ['cancel reason too long', 'POST', `/orders/${orderId}/cancel`, { reason: 'r'.repeat(501) }],
      [
        'If-Match not quoted',
        'POST',
        `/orders/${orderId}/items`,
        line,
        { ...json, 'if-match': '1' },
      ],
      [
        'If-Match garbage',
        'POST',
        `/orders/${orderId}/items`,
        line,
        { ...json, 'if-match': '"abc"' },
      ],
      [
        'Idempotency-Key too long',
        'POST',
        `/orders/${orderId}/items`,
        line,
        { ...json, 'idempotency-key': 'k'.repeat(129) },
      ],
      [
        'Idempotency-Key with a space',
        'POST',
        `/orders/${orderId}/items`,
        line,
        { ...json, 'idempotency-key': 'a b' },
      ],
      ['feed limit too large', 'GET', '/events?limit=1001', undefined],
      ['feed after negative', 'GET', '/events?after=-1', undefined],
      ['feed after not a number', 'GET', '/events?after=abc', undefined],
      ['feed after beyond bigint', 'GET', '/events?after=9223372036854775808', undefined],
      ['feed unknown parameter', 'GET', '/events?from=1', undefined],
      ['unknown route', 'GET', '/nothing-here', undefined, {}, 404],
    ];
    expect(cases.length).toBeGreaterThanOrEqual(40);
    const before = await eventCount();
    for (const [name, method, path, body, headers, status] of cases) {
      const answer = await send(method, path, body, headers ?? (body === undefined ? {} : json));
      const expected = status ?? 400;
      expect({ name, status: answer.status }).toEqual({ name, status: expected });
      expect({ name, type: answer.headers.get('content-type') }).toEqual({
        name,
        type: expect.stringMatching(/^application\/problem\+json/),
      });
      expect({ name, code: typeof answer.body.code }).toEqual({ name, code: 'string' });
    }
    expect(await eventCount()).toBe(before);
  });

  it('serves the catch-up feed in position order', async () => {
    const first = await send('GET', '/events?after=0&limit=1000');
    const events = first.body.events as { position: string }[];
    expect(events.length).toBe(await eventCount());
    const positions = events.map((e) => BigInt(e.position));
    expect([...positions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(positions);
    const page = await send('GET', `/events?after=${events[2]!.position}&limit=2`);
    expect((page.body.events as { position: string }[]).map((e) => e.position)).toEqual([
      events[3]!.position,
      events[4]!.position,
    ]);
    expect(page.body.lastPosition).toBe(events[4]!.position);
  });
});
