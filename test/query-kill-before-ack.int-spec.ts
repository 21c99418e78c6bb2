import type { EventEnvelope } from '@orders/contracts';
import { ConnectionCuttingProxy } from './support/connection-cutting-proxy';
import { httpGet } from './support/http-client';
import { createTestDatabase, type TestDatabase } from './support/mongo-test-database';
import { OrderEventStream } from './support/order-event.stream';
import { OrderEventsPublisher } from './support/order-events.publisher';
import { metricSum } from './support/metrics';
import { amqpUrl as brokerUrl, createVhost, deleteVhost, queueCounts } from './support/rabbitmq';
import {
  eventsByOrder,
  expectedHistory,
  expectedOrderView,
  recountDailyStats,
  recountProductStats,
} from './support/read-model.recount';
import { startService, waitUntilReady, type ServiceProcess } from './support/service-process';
import { uniqueName } from './support/test-names';
import { waitFor } from './support/wait-for';

/*
 * Contract §6, "killed ... and when a message is delivered twice", at its sharpest point: the
 * query service is SIGKILLed after its read-store writes took and before any of their acks
 * reached the broker. A proxy between the service and RabbitMQ holds back everything the
 * service sends, so no ack can slip through first, whatever the timing. The broker then gives
 * every event again to the next process, which must apply none of them a second time: the
 * views, the history and the stats must still equal a recount of the events.
 */

jest.setTimeout(90_000);

const QUEUE = 'orders.query-service';

let vhost: string;
let amqpUrl: string;
let database: TestDatabase;
let proxy: ConnectionCuttingProxy;
let publisher: OrderEventsPublisher;
let service: ServiceProcess | undefined;

beforeAll(async () => {
  vhost = uniqueName('query-kill-before-ack');
  amqpUrl = await createVhost(vhost);
  database = await createTestDatabase('query_kill_before_ack');
  proxy = await ConnectionCuttingProxy.start({ host: '127.0.0.1', port: 5672 });
});

afterAll(async () => {
  await service?.stop('SIGKILL');
  await publisher?.close().catch(() => undefined);
  await proxy?.close();
  if (vhost) await deleteVhost(vhost);
  await database?.drop();
});

/** The query service, talking to RabbitMQ through the proxy. */
function startQueryService(): Promise<ServiceProcess> {
  return startService('query', {
    MONGODB_URL: database.url,
    RABBITMQ_URL: brokerUrl(vhost, proxy.port),
    QUERY_QUEUE_NAME: QUEUE,
  });
}

/** Orders through their lifecycle: every fifth cancelled once confirmed, the rest shipped. */
function lifecycles(count: number): EventEnvelope[] {
  return Array.from({ length: count }, (_, i) => {
    const order = new OrderEventStream();
    const placed = order.placed({
      customerId: `customer-${i % 3}`,
      items: [{ sku: `SKU-${i % 4}`, quantity: 2, unitPrice: 1250 }],
    });
    const added = order.itemAdded('GIFT-WRAP', 1, 399);
    const confirmed = order.confirmed();
    return i % 5 === 0
      ? [placed, added, confirmed, order.cancelled('changed my mind')]
      : [placed, added, confirmed, order.paid(`payment-${i}`), order.shipped('DHL', `T-${i}`)];
  }).flat();
}

it('applies nothing twice when killed after its writes and before its acks reached the broker', async () => {
  service = await startQueryService();
  await waitUntilReady(service);
  publisher = await OrderEventsPublisher.open(amqpUrl);

  proxy.holdingSent = true;
  const events = lifecycles(20);
  await publisher.publish(...events);
  const byOrder = eventsByOrder(events);
  const views = database.client
    .db(database.name)
    .collection<{ _id: string; version: number }>('order_views_g1');
  await waitFor(
    'every view written at its last version',
    async () => {
      const stored = await views.find({}, { projection: { version: 1 } }).toArray();
      return (
        stored.length === byOrder.size &&
        stored.every((view) => view.version === byOrder.get(view._id)?.length)
      );
    },
    { timeoutMs: 30_000 },
  );
  // Every event was delivered and written, and not one ack got through.
  await waitFor(
    'the broker to count every event delivered and unacknowledged',
    async () => {
      const counts = await queueCounts(vhost, QUEUE);
      return counts.unacknowledged === events.length && counts.ready === 0;
    },
    { timeoutMs: 20_000, intervalMs: 250 },
  );

  await service.stop('SIGKILL');
  await waitFor(
    'the broker to take every event back',
    async () => (await queueCounts(vhost, QUEUE)).ready === events.length,
    { timeoutMs: 20_000, intervalMs: 250 },
  );
  proxy.holdingSent = false;

  service = await startQueryService();
  // Counted as each delivery is handled, before its ack: every event came again, and each was
  // found applied already.
  const outcomes = await waitFor(
    'every event delivered again and handled',
    async () => {
      const metrics = (await httpGet<string>(`${service!.url}/metrics`)).body;
      const count = (outcome: string) =>
        metricSum(metrics, 'orders_projection_events_total', `outcome="${outcome}"`);
      const seen = {
        duplicate: count('duplicate'),
        applied: count('applied'),
        gap: count('gap'),
        dead_lettered: count('dead_lettered'),
      };
      return Object.values(seen).reduce((sum, n) => sum + n, 0) >= events.length && seen;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  expect(outcomes).toEqual({ duplicate: events.length, applied: 0, gap: 0, dead_lettered: 0 });

  for (const [orderId, orderEvents] of byOrder) {
    const view = await httpGet(`${service.url}/orders/${orderId}`);
    expect(view.body).toEqual(expectedOrderView(orderEvents));
    const history = await httpGet(`${service.url}/orders/${orderId}/history`);
    expect(history.body).toEqual(expectedHistory(orderEvents));
  }
  const historyStored = database.client.db(database.name).collection('order_history_g1');
  expect(await historyStored.countDocuments()).toBe(events.length);
  const days = events.map((event) => event.occurredAt.slice(0, 10)).sort();
  const [from, to] = [days[0]!, days.at(-1)!];
  const daily = await httpGet(`${service.url}/stats/daily?currency=EUR&from=${from}&to=${to}`);
  expect(daily.body).toEqual(recountDailyStats(byOrder, 'EUR', from, to));
  const products = await httpGet(`${service.url}/stats/products?currency=EUR&limit=100`);
  expect(products.body).toEqual(
    recountProductStats(byOrder, { currency: 'EUR', sortBy: 'revenue', limit: 100 }),
  );
});
