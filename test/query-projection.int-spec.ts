import {
  encodeConsistencyToken,
  PROBLEM_CONTENT_TYPE,
  type EventEnvelope,
  type ProblemDetails,
} from '@orders/contracts';
import { randomUUID } from 'node:crypto';
import {
  bootstrapQueryService,
  type RunningQueryService,
} from '../apps/query-service/src/bootstrap-query-service';
import type { OrderViewResponse } from '../apps/query-service/src/queries/get-order/order-view.response';
import type { DeadLetterDetailResponse } from '../apps/query-service/src/dead-letters/dead-letter.response';
import { httpGet, type HttpAnswer } from './support/http-client';
import { metricSum } from './support/metrics';
import { createTestDatabase, type TestDatabase } from './support/mongo-test-database';
import { OrderEventStream } from './support/order-event.stream';
import { OrderEventsPublisher } from './support/order-events.publisher';
import { createVhost, deleteVhost } from './support/rabbitmq';
import { dropConnections, type ConnectionInfo } from './support/rabbitmq-connections';
import { uniqueName } from './support/test-names';
import { delay, waitFor } from './support/wait-for';

/*
 * The query service against a real RabbitMQ and FerretDB: its own vhost and database per
 * run, the real app on an ephemeral port, events published as the outbox relay does.
 */

// Some cases wait out multi-second consistency timeouts on purpose.
jest.setTimeout(30_000);

const QUEUE = 'orders.query-service';

let vhost: string;
let amqpUrl: string;
let database: TestDatabase;
let service: RunningQueryService;
let publisher: OrderEventsPublisher;
/** Every dead letter the service has stored so far (its operator's view of the dead-letter queue). */
let deadLetters: DeadLetterDetailResponse[] = [];

function startReplica(): Promise<RunningQueryService> {
  return bootstrapQueryService({
    config: {
      port: 0,
      mongodbUrl: database.url,
      rabbitmqUrl: amqpUrl,
      queryQueueName: QUEUE,
    },
    logger: process.env.TEST_LOGS ? undefined : false,
    shutdownHooks: false,
  });
}

function getOrder(orderId: string, headers: Record<string, string> = {}, base = service.url) {
  return httpGet<OrderViewResponse>(`${base}/orders/${orderId}`, headers);
}

function waitForOrderVersion(orderId: string, version: number): Promise<OrderViewResponse> {
  return waitFor(`order ${orderId} at v${version}`, async () => {
    const answer = await getOrder(orderId);
    return answer.status === 200 && answer.body.version >= version ? answer.body : undefined;
  });
}

async function deadLettersNow(): Promise<DeadLetterDetailResponse[]> {
  const listed = await httpGet<{ items: { id: string }[] }>(
    `${service.url}/admin/dead-letters?limit=500`,
  );
  deadLetters = await Promise.all(
    listed.body.items.map(
      async ({ id }) =>
        (await httpGet<DeadLetterDetailResponse>(`${service.url}/admin/dead-letters/${id}`)).body,
    ),
  );
  return deadLetters;
}

/** The live projection's view writes so far, and the events they applied. */
async function viewWrites(): Promise<{ writes: number; events: number }> {
  const text = (await httpGet<string>(`${service.url}/metrics`)).body;
  return {
    writes: metricSum(text, 'orders_projection_events_per_write_count'),
    events: metricSum(text, 'orders_projection_events_per_write_sum'),
  };
}

function deadLettersOf(orderId: string): DeadLetterDetailResponse[] {
  return deadLetters.filter((deadLetter) => deadLetter.body.includes(orderId));
}

beforeAll(async () => {
  vhost = uniqueName('query-projection');
  amqpUrl = await createVhost(vhost);
  database = await createTestDatabase('query_projection');
  service = await startReplica();
  publisher = await OrderEventsPublisher.open(amqpUrl);
});

afterAll(async () => {
  await publisher?.close().catch(() => undefined);
  await service?.app.close().catch(() => undefined);
  if (vhost) await deleteVhost(vhost);
  await database?.drop();
});

describe('query service: order events -> GET /orders/{id}', () => {
  it('reports ready once MongoDB answers and the consumer is registered', async () => {
    const live = await httpGet(`${service.url}/health/live`);
    const ready = await httpGet<{ status: string; checks: unknown }>(`${service.url}/health/ready`);
    expect(live.status).toBe(200);
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({
      status: 'up',
      checks: {
        mongodb: { status: 'up' },
        rabbitmq: { status: 'up' },
        projection: { status: 'up' },
      },
    });
  });

  it('(a) shows a placed, extended and confirmed order with exact totals and version', async () => {
    const order = new OrderEventStream();
    const placed = order.placed({
      customerId: 'customer-a',
      currency: 'USD',
      items: [{ sku: 'BOOK-1', quantity: 2, unitPrice: 1999 }],
    });
    const added = order.itemAdded('PEN:blue', 3, 150);
    const confirmed = order.confirmed();
    await publisher.publish(placed, added, confirmed);

    await waitForOrderVersion(order.orderId, 3);
    const answer = await getOrder(order.orderId);

    expect(answer.status).toBe(200);
    expect(answer.headers.get('etag')).toBe('"3"');
    expect(answer.body).toEqual({
      orderId: order.orderId,
      customerId: 'customer-a',
      status: 'confirmed',
      currency: 'USD',
      items: [
        { sku: 'BOOK-1', quantity: 2, unitPrice: 1999, lineTotal: 3998 },
        { sku: 'PEN:blue', quantity: 3, unitPrice: 150, lineTotal: 450 },
      ],
      itemCount: 5,
      total: 4448,
      placedAt: placed.occurredAt,
      confirmedAt: confirmed.occurredAt,
      updatedAt: confirmed.occurredAt,
      version: 3,
    });
    const unchanged = await getOrder(order.orderId, { 'if-none-match': '"3"' });
    expect(unchanged.status).toBe(304);
  });

  it('(b) applies duplicated and redelivered events exactly once', async () => {
    const order = new OrderEventStream();
    const placed = order.placed({ items: [{ sku: 'MUG', quantity: 1, unitPrice: 800 }] });
    const moreMugs = order.itemAdded('MUG', 2, 800);
    const plates = order.itemAdded('PLATE', 4, 250);
    const confirmed = order.confirmed();

    // The same event twice in a row, then old versions again after newer ones.
    await publisher.publish(placed, placed, moreMugs, moreMugs, plates);
    await publisher.publish(moreMugs, placed, plates);
    await publisher.publish(confirmed, confirmed);
    await waitForOrderVersion(order.orderId, 4);
    // A marker published after every duplicate: once it shows, all of them were handled.
    const paid = order.paid('payment-b');
    await publisher.publish(paid);
    const view = await waitForOrderVersion(order.orderId, 5);

    expect(view).toMatchObject({
      status: 'paid',
      version: 5,
      itemCount: 7,
      total: 3 * 800 + 4 * 250,
      items: [
        { sku: 'MUG', quantity: 3, unitPrice: 800, lineTotal: 2400 },
        { sku: 'PLATE', quantity: 4, unitPrice: 250, lineTotal: 1000 },
      ],
      payment: { paymentId: 'payment-b', amount: 3400, paidAt: paid.occurredAt },
    });
    const stored = await database.client
      .db(database.name)
      .collection<{ _id: string }>('order_views_g1')
      .find({ _id: order.orderId })
      .toArray();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ version: 5, lastEventId: paid.eventId });
    // A duplicate that slipped past the version check would have failed the projection.
    await deadLettersNow();
    expect(deadLettersOf(order.orderId)).toEqual([]);
  });

  it('(b2) applies the events of an order that queue up behind its write together, with one view write', async () => {
    const order = new OrderEventStream();
    const events = [
      order.placed({ items: [{ sku: 'MUG', quantity: 1, unitPrice: 800 }] }),
      ...Array.from({ length: 29 }, () => order.itemAdded('MUG', 1, 800)),
    ];
    const before = await viewWrites();

    // v1 is written at once, alone; the rest arrive during its write and wait for it.
    await publisher.publish(...events);
    const view = await waitForOrderVersion(order.orderId, 30);

    expect(view).toMatchObject({ version: 30, itemCount: 30, total: 30 * 800 });
    const after = await viewWrites();
    expect(after.events - before.events).toBe(30);
    // One write per event would be 30.
    expect(after.writes - before.writes).toBeLessThanOrEqual(5);
  });

  it('(b3) dead-letters only the event the projection refuses, not the others that queued with it', async () => {
    const order = new OrderEventStream();
    const placed = order.placed({ items: [{ sku: 'MUG', quantity: 1, unitPrice: 800 }] });
    const added = order.itemAdded('PLATE', 2, 250);
    const placedAgain: EventEnvelope = { ...placed, eventId: randomUUID(), version: 3 };

    await publisher.publish(placed, added, placedAgain);

    await expect(waitForOrderVersion(order.orderId, 2)).resolves.toMatchObject({ total: 1300 });
    const refused = await waitFor('the refused event in the dead-letter queue', async () => {
      await deadLettersNow();
      const ofOrder = deadLettersOf(order.orderId);
      return ofOrder.length > 0 ? ofOrder : undefined;
    });
    expect(refused.map((deadLetter) => deadLetter.messageId)).toEqual([placedAgain.eventId]);
    expect((await getOrder(order.orderId)).body.version).toBe(2);
  });

  it('(c) holds back an event that arrives before its predecessor, then applies both in order', async () => {
    const order = new OrderEventStream();
    const placed = order.placed({ items: [{ sku: 'LAMP', quantity: 1, unitPrice: 4500 }] });
    const bulbs = order.itemAdded('BULB', 6, 300);
    const confirmed = order.confirmed();

    await publisher.publish(placed);
    await waitForOrderVersion(order.orderId, 1);
    await publisher.publish(confirmed);
    // v3 is redelivered meanwhile; it must not be applied on top of v1.
    await delay(400);
    const early = await getOrder(order.orderId);
    expect(early.body).toMatchObject({ version: 1, status: 'draft', itemCount: 1, total: 4500 });

    await publisher.publish(bulbs);
    const view = await waitForOrderVersion(order.orderId, 3);
    expect(view).toMatchObject({
      version: 3,
      status: 'confirmed',
      itemCount: 7,
      total: 4500 + 1800,
      items: [
        { sku: 'LAMP', quantity: 1, unitPrice: 4500, lineTotal: 4500 },
        { sku: 'BULB', quantity: 6, unitPrice: 300, lineTotal: 1800 },
      ],
      confirmedAt: confirmed.occurredAt,
    });
    await deadLettersNow();
    expect(deadLettersOf(order.orderId)).toEqual([]);
  });

  it('(c2) dead-letters an event whose predecessor never comes, after bounded redeliveries', async () => {
    const order = new OrderEventStream();
    await publisher.publish(order.placed());
    await waitForOrderVersion(order.orderId, 1);
    order.itemAdded('LOST', 1, 100);
    const orphan = order.confirmed();
    await publisher.publish(orphan);

    const [deadLetter] = await waitFor(
      'the orphaned v3 in the dead-letter queue',
      async () => {
        await deadLettersNow();
        const found = deadLetters.filter((d) => d.messageId === orphan.eventId);
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 25_000, intervalMs: 200 },
    );
    expect(deadLetter).toMatchObject({
      reason: 'delivery_limit',
      eventType: 'OrderConfirmed',
      orderId: order.orderId,
      version: 3,
      queue: QUEUE,
    });
    expect(JSON.parse(deadLetter!.body)).toEqual(orphan);
    expect((await getOrder(order.orderId)).body).toMatchObject({ version: 1, status: 'draft' });
  });

  it('(d) dead-letters invalid messages without holding up other orders', async () => {
    const notJsonId = randomUUID();
    const badOrder = new OrderEventStream();
    const badSchema = { ...badOrder.placed(), data: { customerId: 'x', currency: 'euro' } };
    const outOfPlace = new OrderEventStream();
    outOfPlace.placed();
    const addedFirst: EventEnvelope = { ...outOfPlace.itemAdded('SKU', 1, 1), version: 1 };

    await publisher.publishRaw('order.placed', '{not json', notJsonId);
    await publisher.publishRaw('order.placed', JSON.stringify(badSchema), badSchema.eventId);
    await publisher.publish(addedFirst);
    const healthy = new OrderEventStream();
    await publisher.publish(
      healthy.placed({ items: [{ sku: 'OK', quantity: 1, unitPrice: 100 }] }),
    );

    await expect(waitForOrderVersion(healthy.orderId, 1)).resolves.toMatchObject({ total: 100 });
    const expectedIds = [notJsonId, badSchema.eventId, addedFirst.eventId];
    const found = await waitFor('the three invalid messages in the dead-letter queue', async () => {
      const ids = (await deadLettersNow()).map((deadLetter) => String(deadLetter.messageId));
      return expectedIds.every((id) => ids.includes(id)) ? ids : undefined;
    });
    expect(found).toEqual(expect.arrayContaining(expectedIds));
    const notJson = deadLetters.find((deadLetter) => deadLetter.messageId === notJsonId);
    expect(notJson).toMatchObject({
      body: '{not json',
      reason: 'rejected',
      queue: QUEUE,
      diagnosis: 'body is not JSON',
    });
    expect((await getOrder(badOrder.orderId)).status).toBe(404);
    expect((await getOrder(outOfPlace.orderId)).status).toBe(404);
  });

  describe('(e) read-your-writes with X-Consistency-Token', () => {
    it('waits for the write the token names, on the active consumer and on a standby replica', async () => {
      const standby = await startReplica();
      try {
        const order = new OrderEventStream();
        const placed = order.placed({ items: [{ sku: 'CHAIR', quantity: 2, unitPrice: 5000 }] });
        await publisher.publish(placed);
        await waitForOrderVersion(order.orderId, 1);
        const confirmed = order.confirmed();
        const token = encodeConsistencyToken({
          orderId: order.orderId,
          version: 2,
          position: confirmed.position,
        });
        const headers = { 'x-consistency-token': token, 'x-consistency-timeout-ms': '5000' };

        const started = Date.now();
        const settled: number[] = [];
        const reads = [service.url, standby.url].map((base) =>
          getOrder(order.orderId, headers, base).then((answer) => {
            settled.push(Date.now() - started);
            return answer;
          }),
        );
        await delay(300);
        expect(settled).toEqual([]);
        await publisher.publish(confirmed);

        for (const answer of await Promise.all(reads)) {
          expect(answer.status).toBe(200);
          expect(answer.headers.get('etag')).toBe('"2"');
          expect(answer.body).toMatchObject({ version: 2, status: 'confirmed' });
        }
        expect(Math.min(...settled)).toBeGreaterThanOrEqual(300);
      } finally {
        await standby.app.close();
      }
    });

    it('answers 503 problem+json with Retry-After when the write does not arrive in time', async () => {
      const order = new OrderEventStream();
      await publisher.publish(order.placed());
      await waitForOrderVersion(order.orderId, 1);
      const token = encodeConsistencyToken({ orderId: order.orderId, version: 99, position: '1' });

      const started = Date.now();
      const answer = await getOrder(order.orderId, {
        'x-consistency-token': token,
        'x-consistency-timeout-ms': '400',
      });
      const elapsed = Date.now() - started;
      expectProblem(answer, 503, 'CONSISTENCY_TIMEOUT');
      expect(answer.headers.get('retry-after')).toBe('1');
      expect(elapsed).toBeGreaterThanOrEqual(400);
      expect(elapsed).toBeLessThan(2000);

      const defaultStarted = Date.now();
      const byDefault = await getOrder(order.orderId, { 'x-consistency-token': token });
      expectProblem(byDefault, 503, 'CONSISTENCY_TIMEOUT');
      expect(Date.now() - defaultStarted).toBeGreaterThanOrEqual(3000);
    });

    it('refuses tokens and timeouts it cannot use with 400 problem+json', async () => {
      const orderId = randomUUID();
      expectProblem(
        await getOrder(orderId, { 'x-consistency-token': 'not-a-token' }),
        400,
        'INVALID_CONSISTENCY_TOKEN',
      );
      const token = encodeConsistencyToken({ orderId, version: 1, position: '1' });
      for (const timeout of ['abc', '-1', '10001', '1.5']) {
        expectProblem(
          await getOrder(orderId, {
            'x-consistency-token': token,
            'x-consistency-timeout-ms': timeout,
          }),
          400,
          'INVALID_CONSISTENCY_TIMEOUT',
        );
      }
    });
  });

  it('answers 404 problem+json for an unknown order and 400 for an id that is not a uuid', async () => {
    expectProblem(await getOrder(randomUUID()), 404, 'ORDER_NOT_FOUND');
    const invalid = await getOrder('not-a-uuid');
    expectProblem(invalid, 400, 'VALIDATION_FAILED');
    expect(invalid.body).toMatchObject({ errors: [{ path: 'id' }] });
    // Query values are data, never MongoDB operators.
    expectProblem(await getOrder(encodeURIComponent('{"$gt":""}')), 400, 'VALIDATION_FAILED');
  });

  it('reconnects when the broker drops its connection, and loses nothing meanwhile', async () => {
    const order = new OrderEventStream();
    await publisher.publish(
      order.placed({ items: [{ sku: 'SOFA', quantity: 1, unitPrice: 90000 }] }),
    );
    await waitForOrderVersion(order.orderId, 1);

    expect(await dropConnections(vhost, 'orders-query-service@')).toBe(1);
    await publisher.publish(order.confirmed(), order.paid('payment-r'));

    await expect(waitForOrderVersion(order.orderId, 3)).resolves.toMatchObject({
      status: 'paid',
      version: 3,
    });
    await waitFor('the consumer to report ready again', async () => {
      const ready = await httpGet(`${service.url}/health/ready`);
      return ready.status === 200;
    });
  });

  it('a replica whose consumer session ended answers with what the new active one wrote, not with the views it wrote itself', async () => {
    const order = new OrderEventStream();
    await publisher.publish(
      order.placed({ items: [{ sku: 'LAMP', quantity: 1, unitPrice: 4000 }] }),
    );
    // Applied by the active replica, which now answers it from the views it wrote.
    await waitForOrderVersion(order.orderId, 1);
    const standby = await startReplica();
    try {
      await waitFor('the standby to register its consumer', async () => {
        const ready = await httpGet(`${standby.url}/health/ready`);
        return ready.status === 200;
      });
      // The active replica's session ends (its connection is the older of the two, once the
      // management API lists both): the broker moves the queue to the standby, and the former
      // active one comes back behind it.
      const olderOfTwo = (all: ConnectionInfo[]) =>
        all.length === 2
          ? [...all].sort((x, y) => x.connected_at - y.connected_at).slice(0, 1)
          : [];
      await waitFor(
        'both consumer connections listed',
        async () => (await dropConnections(vhost, 'orders-query-service@', olderOfTwo)) === 1,
      );
      await publisher.publish(order.confirmed(), order.paid('payment-s'));
      await waitFor('the standby to apply v3', async () => {
        const answer = await getOrder(order.orderId, {}, standby.url);
        return answer.status === 200 && answer.body.version === 3;
      });

      const former = await getOrder(order.orderId);
      expect(former.status).toBe(200);
      expect(former.body).toMatchObject({ version: 3, status: 'paid' });
      expect(former.headers.get('etag')).toBe('"3"');
    } finally {
      await standby.app.close();
    }
  });

  it('stops cleanly mid-stream, and a restarted service resumes without losing or repeating', async () => {
    const orders = Array.from({ length: 100 }, () => new OrderEventStream());
    const streams = orders.map((order, index) => [
      order.placed({ items: [{ sku: 'BULK', quantity: 1 + (index % 5), unitPrice: 100 }] }),
      order.itemAdded('EXTRA', 2, 50),
      order.confirmed(),
    ]);
    // Interleaved across orders, in version order within each, as the relay publishes.
    for (let version = 0; version < 3; version += 1) {
      await publisher.publish(...streams.map((events) => events[version]!));
    }
    await service.app.close();
    service = await startReplica();

    for (const [index, order] of orders.entries()) {
      await expect(waitForOrderVersion(order.orderId, 3)).resolves.toMatchObject({
        version: 3,
        status: 'confirmed',
        itemCount: 1 + (index % 5) + 2,
        total: (1 + (index % 5)) * 100 + 100,
      });
    }
    await deadLettersNow();
    expect(orders.flatMap((order) => deadLettersOf(order.orderId))).toEqual([]);
  });

  it('hands consumption over to a standby replica when the active one stops', async () => {
    const standby = await startReplica();
    const order = new OrderEventStream();
    try {
      await publisher.publish(
        order.placed({ items: [{ sku: 'DESK', quantity: 1, unitPrice: 20000 }] }),
      );
      await waitForOrderVersion(order.orderId, 1);
      await service.app.close();
      service = standby;
      await publisher.publish(order.confirmed(), order.paid('payment-f'));
      await expect(waitForOrderVersion(order.orderId, 3)).resolves.toMatchObject({
        status: 'paid',
        total: 20000,
      });
    } finally {
      service = standby;
    }
  });
});

function expectProblem(answer: HttpAnswer, status: number, code: string): void {
  expect(answer.status).toBe(status);
  expect(answer.headers.get('content-type')).toContain(PROBLEM_CONTENT_TYPE);
  const problem = answer.body as Partial<ProblemDetails>;
  expect(problem).toMatchObject({ status, code });
  expect(typeof problem.type).toBe('string');
  expect(typeof problem.title).toBe('string');
}
