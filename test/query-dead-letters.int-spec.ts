import type { EventEnvelope } from '@orders/contracts';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  bootstrapQueryService,
  type RunningQueryService,
} from '../apps/query-service/src/bootstrap-query-service';
import type {
  DeadLetterDetailResponse,
  DeadLetterSummaryResponse,
} from '../apps/query-service/src/dead-letters/dead-letter.response';
import { ensureServiceBuilt } from './support/build-service';
import { httpGet } from './support/http-client';
import { createTestDatabase, type TestDatabase } from './support/mongo-test-database';
import { OrderEventStream } from './support/order-event.stream';
import { OrderEventsPublisher } from './support/order-events.publisher';
import { generateOrderLives } from './support/order-scenario';
import { createVhost, deleteQueue, deleteVhost, queueDepth } from './support/rabbitmq';
import { eventsByOrder, expectedOrderView } from './support/read-model.recount';
import { uniqueName } from './support/test-names';
import { waitFor } from './support/wait-for';

/*
 * Dead letters as an operator meets them: a poison message is dead-lettered after bounded
 * retries while other orders keep flowing; the admin API and the CLI list it without taking
 * it away; once the cause is fixed, a replay brings the read model to the right state.
 */

const QUEUE = 'orders.query-service';
const CLI = join(
  __dirname,
  '..',
  'dist/apps/query-service/apps/query-service/src/cli/dead-letters.js',
);
const run = promisify(execFile);

let vhost: string;
let database: TestDatabase;
let service: RunningQueryService;
let publisher: OrderEventsPublisher;

function cli(...args: string[]) {
  return run(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH, QUERY_SERVICE_URL: service.url },
  });
}

async function listDeadLetters(query = ''): Promise<DeadLetterSummaryResponse[]> {
  const answer = await httpGet<{ items: DeadLetterSummaryResponse[]; nextCursor: string | null }>(
    `${service.url}/admin/dead-letters${query}`,
  );
  expect(answer.status).toBe(200);
  return answer.body.items;
}

async function post(path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${service.url}${path}`, { method: 'POST' });
  return { status: response.status, body: await response.json() };
}

function getOrder(orderId: string) {
  return httpGet<{ version: number; status: string }>(`${service.url}/orders/${orderId}`);
}

const atVersion = (orderId: string, version: number) =>
  waitFor(
    `order ${orderId} at v${version}`,
    async () => {
      const answer = await getOrder(orderId);
      return answer.status === 200 && answer.body.version === version ? answer.body : undefined;
    },
    { timeoutMs: 20_000 },
  );

beforeAll(async () => {
  ensureServiceBuilt('query-service');
  vhost = uniqueName('query-dead-letters');
  const amqpUrl = await createVhost(vhost);
  database = await createTestDatabase('query_dead_letters');
  service = await bootstrapQueryService({
    config: { port: 0, mongodbUrl: database.url, rabbitmqUrl: amqpUrl, queryQueueName: QUEUE },
    logger: process.env.TEST_LOGS ? undefined : false,
    shutdownHooks: false,
  });
  publisher = await OrderEventsPublisher.open(amqpUrl);
});

afterAll(async () => {
  await publisher?.close().catch(() => undefined);
  await service?.app.close().catch(() => undefined);
  if (vhost) await deleteVhost(vhost);
  await database?.drop();
});

describe('dead letters: see, keep and replay what the projection gave up on', () => {
  const poisoned = new OrderEventStream();
  const twin = new OrderEventStream();
  let poisonedPlaced: EventEnvelope;
  let missing: EventEnvelope;
  let orphan: EventEnvelope;
  let twinMissing: EventEnvelope;
  let twinOrphans: EventEnvelope[];
  const notJsonId = randomUUID();

  it('dead-letters a gap that never closes, after bounded retries, while other orders keep flowing', async () => {
    poisonedPlaced = poisoned.placed({
      currency: 'EUR',
      items: [{ sku: 'LAMP', quantity: 1, unitPrice: 4000 }],
    });
    await publisher.publish(
      poisonedPlaced,
      twin.placed({ currency: 'EUR', items: [{ sku: 'BULB', quantity: 3, unitPrice: 200 }] }),
    );
    await atVersion(poisoned.orderId, 1);
    missing = poisoned.itemAdded('SHADE', 1, 1500);
    orphan = poisoned.confirmed();
    twinMissing = twin.itemAdded('BULB', 1, 200);
    twinOrphans = [twin.confirmed(), twin.paid('pay-twin')];
    const started = Date.now();
    await publisher.publish(orphan, ...twinOrphans);
    await publisher.publishRaw('order.placed', '{not json', notJsonId);

    // While the orphans are retried, 40 other orders are applied in full.
    const lives = generateOrderLives({ orders: 40, seed: 4, startDay: '2026-04-01', days: 2 });
    for (const life of lives) await publisher.publish(...life);
    for (const [orderId, events] of eventsByOrder(lives.flat())) {
      const answer = await atVersion(orderId, events.length);
      expect(answer).toMatchObject({ version: events.length });
    }
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await listDeadLetters()).toEqual([
      expect.objectContaining({
        messageId: notJsonId,
        reason: 'rejected',
        diagnosis: 'body is not JSON',
      }),
    ]);

    const stored = await waitFor(
      'the three orphans in the dead-letter store',
      async () => {
        const items = await listDeadLetters();
        return items.length === 4 ? items : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(stored.find((item) => item.messageId === orphan.eventId)).toMatchObject({
      eventType: 'OrderConfirmed',
      orderId: poisoned.orderId,
      version: 3,
      exchange: 'orders.events',
      routingKey: 'order.confirmed',
      reason: 'delivery_limit',
      queue: QUEUE,
      replays: 0,
    });
    expect(stored.every((item) => Date.parse(item.storedAt) >= started)).toBe(true);
    expect((await getOrder(poisoned.orderId)).body).toMatchObject({ version: 1, status: 'draft' });
  });

  it('lists them from the store without taking them: the queue is drained, the list stays', async () => {
    expect(await queueDepth(vhost, `${QUEUE}.dead-letter`)).toBe(0);
    const first = await listDeadLetters();
    const again = await listDeadLetters();
    expect(again).toEqual(first);
    const paged = [...(await listDeadLetters('?limit=2'))];
    expect(paged).toEqual(first.slice(0, 2));
    expect(await listDeadLetters(`?orderId=${twin.orderId}`)).toHaveLength(2);
    expect(await listDeadLetters('?eventType=OrderPaid')).toEqual([
      expect.objectContaining({ messageId: twinOrphans[1]!.eventId }),
    ]);

    const { stdout } = await cli('list', '--json');
    expect((JSON.parse(stdout) as DeadLetterSummaryResponse[]).map((item) => item.id)).toEqual(
      first.map((item) => item.id),
    );
    const table = await cli('list');
    expect(table.stdout).toContain(orphan.orderId);
    expect(table.stdout).toContain('4 dead letter(s)');

    const detail = await httpGet<DeadLetterDetailResponse>(
      `${service.url}/admin/dead-letters/${first.find((item) => item.messageId === orphan.eventId)!.id}`,
    );
    expect(JSON.parse(detail.body.body)).toEqual(orphan);
    expect(detail.body.properties).toMatchObject({
      messageId: orphan.eventId,
      type: 'OrderConfirmed',
      contentType: 'application/json',
      headers: { 'order-id': poisoned.orderId, 'x-replay-count': 1 },
    });
    expect((detail.body.properties as { headers: object }).headers).not.toHaveProperty('x-death');
  });

  it('replays one with the CLI once its cause is fixed, and the read model ends correct', async () => {
    await publisher.publish(missing);
    await atVersion(poisoned.orderId, 2);
    const id = (await listDeadLetters()).find((item) => item.messageId === orphan.eventId)!.id;

    const { stdout } = await cli('replay', id);
    expect(stdout.trim()).toBe('replayed 1');

    await atVersion(poisoned.orderId, 3);
    const view = await getOrder(poisoned.orderId);
    expect(view.body).toEqual(expectedOrderView([poisonedPlaced, missing, orphan]));
    expect((await listDeadLetters()).map((item) => item.messageId)).not.toContain(orphan.eventId);
    expect((await post(`/admin/dead-letters/${id}/replay`)).status).toBe(404);
  });

  it('replays all of an order at once, and a message that dies again comes back as a new dead letter', async () => {
    await publisher.publish(twinMissing);
    await atVersion(twin.orderId, 2);
    const replayed = await post(`/admin/dead-letters/replay-all?orderId=${twin.orderId}`);
    expect(replayed).toMatchObject({ status: 200, body: { replayed: 2 } });
    await atVersion(twin.orderId, 4);
    expect((await getOrder(twin.orderId)).body).toMatchObject({ status: 'paid', version: 4 });

    const all = await post('/admin/dead-letters/replay-all');
    expect(all).toMatchObject({ status: 200, body: { replayed: 1 } });
    const back = await waitFor('the invalid message dead-lettered again', async () => {
      const items = await listDeadLetters();
      return items.length === 1 && items[0]!.replays === 1 ? items[0] : undefined;
    });
    expect(back).toMatchObject({ messageId: notJsonId, reason: 'rejected' });
    const detail = await httpGet<DeadLetterDetailResponse>(
      `${service.url}/admin/dead-letters/${back.id}`,
    );
    expect(detail.body).toMatchObject({
      body: '{not json',
      properties: {
        messageId: notJsonId,
        contentType: 'application/json',
        headers: { 'x-replay-count': 2 },
      },
    });
  });

  it('keeps a dead letter that no queue took on replay, and answers 503', async () => {
    const [kept] = await listDeadLetters();
    // The consumer declares its queue again once it has reconnected, 200-300 ms from now: the
    // replay right after the delete finds none, and the broker returns it (mandatory).
    await deleteQueue(vhost, QUEUE);
    const refused = await post(`/admin/dead-letters/${kept!.id}/replay`);
    expect(refused).toMatchObject({ status: 503, body: { code: 'REPLAY_UNAVAILABLE' } });
    expect((await listDeadLetters()).map((item) => item.id)).toEqual([kept!.id]);
    const replayed = await waitFor('the replay once the queue is back', async () => {
      const answer = await post(`/admin/dead-letters/${kept!.id}/replay`);
      return answer.status === 200 ? answer : undefined;
    });
    expect(replayed.body).toMatchObject({ replayed: 1 });
  });

  it('refuses bad ids and parameters with 400 problem+json', async () => {
    for (const path of [
      '/admin/dead-letters/xyz',
      '/admin/dead-letters?limit=0',
      '/admin/dead-letters?cursor=nope',
      '/admin/dead-letters?orderId=1',
    ]) {
      expect((await httpGet(`${service.url}${path}`)).status).toBe(400);
    }
    expect((await post('/admin/dead-letters/replay-all?orderId=x')).status).toBe(400);
    expect((await httpGet(`${service.url}/admin/dead-letters/${'0'.repeat(32)}`)).status).toBe(404);
  });
});
