import { randomUUID } from 'node:crypto';
import { orderEventSchemas, type EventEnvelope } from '@orders/contracts';
import { Client } from 'pg';
import { ExchangeObserver } from './support/rabbitmq';
import type { ServiceProcess } from './support/service-process';
import { SystemUnderTest } from './support/system-under-test';
import { waitFor } from './support/wait-for';

describe('stored events across schema versions and long streams', () => {
  let system: SystemUnderTest;
  let observer: ExchangeObserver;
  let command: ServiceProcess;
  let query: ServiceProcess;
  let sql: Client;

  beforeAll(async () => {
    system = await SystemUnderTest.create('orders_evolution');
    observer = await ExchangeObserver.start(system.amqpUrl, 'orders.events');
    query = await system.startQuery();
    command = await system.startCommand();
    sql = new Client({ connectionString: system.databaseUrl });
    await sql.connect();
  });

  afterAll(async () => {
    await sql?.end();
    await observer?.close();
    await system?.destroy();
  });

  async function post(path: string, body?: unknown) {
    const response = await fetch(`${command.url}${path}`, {
      method: 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('loads, publishes and projects an OrderPlaced stored under schema version 1', async () => {
    const orderId = randomUUID();
    // As an earlier release stored it: v1 had no itemCount or total.
    await sql.query(
      `INSERT INTO order_events (position, event_id, order_id, version, type, schema_version, data,
         correlation_id, causation_id, occurred_at)
       VALUES (pg_current_xact_id()::text::bigint * 10000 + 1, $1, $2, 1, 'OrderPlaced', 1, $3,
         'legacy', 'legacy', now())`,
      [
        randomUUID(),
        orderId,
        JSON.stringify({
          customerId: 'legacy-customer',
          currency: 'EUR',
          items: [{ sku: 'OLD', quantity: 3, unitPrice: 200, lineTotal: 600 }],
        }),
      ],
    );
    const feed = await fetch(`${command.url}/events?after=0&limit=1000`);
    const { events } = (await feed.json()) as { events: EventEnvelope[] };
    const placed = events.find((e) => e.orderId === orderId);
    expect(placed).toMatchObject({
      schemaVersion: orderEventSchemas.OrderPlaced.schemaVersion,
      data: { itemCount: 3, total: 600 },
    });

    const published = await waitFor('the relay to publish the upcast event', () =>
      observer.bodies<EventEnvelope>().find((e) => e.orderId === orderId),
    );
    expect(published).toEqual(placed);

    const added = await post(`/orders/${orderId}/items`, {
      sku: 'OLD',
      quantity: 1,
      unitPrice: 200,
    });
    expect(added.status).toBe(200);
    const view = await fetch(`${query.url}/orders/${orderId}`, {
      headers: { 'x-consistency-token': added.body.consistencyToken as string },
    });
    expect(await view.json()).toMatchObject({
      customerId: 'legacy-customer',
      items: [{ sku: 'OLD', quantity: 4, unitPrice: 200, lineTotal: 800 }],
      itemCount: 4,
      total: 800,
      version: 2,
    });
  });

  it('keeps deciding correctly on a stream of over 1,000 events through snapshots', async () => {
    const { body } = await post('/orders', { customerId: 'long', currency: 'EUR' });
    const orderId = body.orderId as string;
    for (let i = 0; i < 525; i++) {
      expect(
        (await post(`/orders/${orderId}/items`, { sku: 'A', quantity: 1, unitPrice: 10 })).status,
      ).toBe(200);
      const removed = await fetch(`${command.url}/orders/${orderId}/items/A`, { method: 'DELETE' });
      expect(removed.status).toBe(200);
    }
    const snapshot = await sql.query('SELECT version FROM order_snapshots WHERE order_id = $1', [
      orderId,
    ]);
    expect(snapshot.rows).toEqual([{ version: 1000 }]);

    // A snapshot is only a cache: a corrupted one under another state version is ignored.
    expect(
      (await post(`/orders/${orderId}/items`, { sku: 'B', quantity: 7, unitPrice: 3 })).body
        .version,
    ).toBe(1052);
    await sql.query('UPDATE order_snapshots SET state_version = 0 WHERE order_id = $1', [orderId]);
    const confirmed = await post(`/orders/${orderId}/confirm`);
    expect(confirmed.body.version).toBe(1053);
    const last = await sql.query(
      'SELECT type, data FROM order_events WHERE order_id = $1 AND version = 1053',
      [orderId],
    );
    expect(last.rows[0]).toMatchObject({
      type: 'OrderConfirmed',
      data: {
        items: [{ sku: 'B', quantity: 7, unitPrice: 3, lineTotal: 21 }],
        total: 21,
        itemCount: 7,
      },
    });
  });
});
