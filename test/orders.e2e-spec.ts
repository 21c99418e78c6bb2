import { createTestDatabase, type TestDatabase } from './support/mongo-test-database';
import { databaseUrl, dropDatabase } from './support/postgres';
import { createVhost, deleteVhost } from './support/rabbitmq';
import { startService, type ServiceProcess } from './support/service-process';
import { uniqueName } from './support/test-names';

/** Both services started from their built main modules, driven over HTTP only. */
describe('orders end to end', () => {
  let database: string;
  let vhost: string;
  let readStore: TestDatabase;
  let command: ServiceProcess;
  let query: ServiceProcess;

  beforeAll(async () => {
    database = uniqueName('orders_e2e');
    vhost = uniqueName('orders_e2e');
    const amqpUrl = await createVhost(vhost);
    readStore = await createTestDatabase('orders_e2e');
    // The query service first: its queue must be bound before the relay publishes.
    query = await startService('query', { MONGODB_URL: readStore.url, RABBITMQ_URL: amqpUrl });
    command = await startService('command', {
      DATABASE_URL: databaseUrl(database),
      RABBITMQ_URL: amqpUrl,
    });
  });

  afterAll(async () => {
    await Promise.all([command?.stop(), query?.stop()]);
    await readStore?.drop();
    await deleteVhost(vhost);
    await dropDatabase(database);
  });

  async function post(path: string, body?: unknown) {
    const response = await fetch(`${command.url}${path}`, {
      method: 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    expect(response.status).toBeLessThan(300);
    return (await response.json()) as {
      orderId: string;
      version: number;
      consistencyToken: string;
    };
  }

  it('shows a placed order through the query API as soon as its token allows', async () => {
    const placed = await post('/orders', {
      customerId: 'cust-e2e',
      currency: 'EUR',
      items: [{ sku: 'BOOK-1', quantity: 2, unitPrice: 1250 }],
    });
    const added = await post(`/orders/${placed.orderId}/items`, {
      sku: 'PEN-9',
      quantity: 3,
      unitPrice: 199,
    });
    const confirmed = await post(`/orders/${placed.orderId}/confirm`);
    expect(confirmed.version).toBe(3);

    const response = await fetch(`${query.url}/orders/${placed.orderId}`, {
      headers: { 'x-consistency-token': confirmed.consistencyToken },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBe('"3"');
    const view = (await response.json()) as Record<string, unknown>;
    expect(view).toMatchObject({
      orderId: placed.orderId,
      customerId: 'cust-e2e',
      status: 'confirmed',
      currency: 'EUR',
      items: [
        { sku: 'BOOK-1', quantity: 2, unitPrice: 1250, lineTotal: 2500 },
        { sku: 'PEN-9', quantity: 3, unitPrice: 199, lineTotal: 597 },
      ],
      itemCount: 5,
      total: 3097,
      version: 3,
      placedAt: expect.any(String),
      confirmedAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(added.version).toBe(2);
  });
});
