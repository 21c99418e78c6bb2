import type { ServiceProcess } from './support/service-process';
import { SystemUnderTest } from './support/system-under-test';

/** Both services started from their built main modules, driven over HTTP only. */
describe('orders end to end', () => {
  let system: SystemUnderTest;
  let command: ServiceProcess;
  let query: ServiceProcess;

  beforeAll(async () => {
    system = await SystemUnderTest.create('orders_e2e');
    // The query service first: its queue must be bound before the relay publishes.
    query = await system.startQuery();
    command = await system.startCommand();
  });

  afterAll(async () => {
    await system?.destroy();
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
