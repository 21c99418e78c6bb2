import {
  commandPatterns,
  IDEMPOTENT_REPLAYED_HEADER,
  ORDERS_COMMANDS_DEAD_LETTER_QUEUE,
  ORDERS_COMMANDS_QUEUE,
  ORDERS_EVENTS_EXCHANGE,
  orderCommandReply,
  type EventEnvelope,
  type ProblemDetails,
} from '@orders/contracts';
import type { GetMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { CommandClient, type Reply } from './support/command-client';
import { takeAllMessages } from './support/dead-letter-queue';
import { httpGet } from './support/http-client';
import { databaseUrl, dropDatabase } from './support/postgres';
import { createVhost, deleteVhost, ExchangeObserver, queueDepth } from './support/rabbitmq';
import { dropConnections } from './support/rabbitmq-connections';
import { startService, type ServiceProcess } from './support/service-process';
import { uniqueName } from './support/test-names';
import { delay, waitFor } from './support/wait-for';

/*
 * Commands over RabbitMQ request/reply and the payment.succeeded integration, against the
 * built command service with its own PostgreSQL database and RabbitMQ vhost. The client is
 * plain amqplib with direct reply-to, as a service in any language would be.
 */

const PAYMENTS_QUEUE = 'orders.command-service.payments';
const PAYMENTS_DEAD_LETTER_QUEUE = `${PAYMENTS_QUEUE}.dead-letter`;
let database: string;
let vhost: string;
let amqpUrl: string;
let service: ServiceProcess;
let client: CommandClient;
/** Gives the relay a bound queue, as the query service would, so events are routable. */
let observer: ExchangeObserver;

beforeAll(async () => {
  database = uniqueName('orders_cmd_messaging');
  vhost = uniqueName('orders_cmd_messaging');
  amqpUrl = await createVhost(vhost);
  observer = await ExchangeObserver.start(amqpUrl, ORDERS_EVENTS_EXCHANGE);
  service = await startService('command', {
    DATABASE_URL: databaseUrl(database),
    RABBITMQ_URL: amqpUrl,
  });
  client = await CommandClient.open(amqpUrl);
});

afterAll(async () => {
  await client?.close();
  await observer?.close();
  await service?.stop();
  await deleteVhost(vhost);
  await dropDatabase(database);
});

/** A session on the service's own database, to make PostgreSQL fail or wait on purpose. */
async function withDatabase<T>(work: (db: Client) => Promise<T>): Promise<T> {
  const db = new Client({ connectionString: databaseUrl(database) });
  await db.connect();
  try {
    return await work(db);
  } finally {
    await db.end();
  }
}

async function eventsOf(orderId: string): Promise<EventEnvelope[]> {
  const answer = await httpGet<{ events: EventEnvelope[] }>(
    `${service.url}/events?after=0&limit=1000`,
  );
  expect(answer.status).toBe(200);
  return answer.body.events.filter((event) => event.orderId === orderId);
}

function resultOf(reply: Reply) {
  expect(orderCommandReply.safeParse(reply.body).error).toBeUndefined();
  if (!reply.body.ok) throw new Error(`refused: ${JSON.stringify(reply.body.problem)}`);
  return reply.body.result;
}

function problemOf(reply: Reply): ProblemDetails {
  expect(orderCommandReply.safeParse(reply.body).error).toBeUndefined();
  if (reply.body.ok) throw new Error(`expected a problem, got ${JSON.stringify(reply.body)}`);
  return reply.body.problem;
}

/** Places an order over RabbitMQ, with items, and confirms it; returns its id and total. */
async function confirmedOrder(items = [{ sku: 'SKU-1', quantity: 2, unitPrice: 1000 }]) {
  const placed = resultOf(
    await client.send(commandPatterns.place, {
      body: { customerId: 'c-1', currency: 'EUR', items },
    }),
  );
  resultOf(await client.send(commandPatterns.confirm, { orderId: placed.orderId }));
  return {
    orderId: placed.orderId,
    total: items.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0),
  };
}

const deadLetters = { commands: [] as GetMessage[], payments: [] as GetMessage[] };

async function deadLettersIn(queue: keyof typeof deadLetters): Promise<GetMessage[]> {
  const name =
    queue === 'commands' ? ORDERS_COMMANDS_DEAD_LETTER_QUEUE : PAYMENTS_DEAD_LETTER_QUEUE;
  deadLetters[queue].push(...(await takeAllMessages(client.channel, name)));
  return deadLetters[queue];
}

describe('commands over RabbitMQ', () => {
  it('places, adds an item and confirms, each answered with the result and stored as events', async () => {
    const orderId = randomUUID();
    const placeMessageId = randomUUID();
    const placed = await client.send(
      commandPatterns.place,
      { correlationId: 'checkout-42', body: { orderId, customerId: 'c-1', currency: 'EUR' } },
      { messageId: placeMessageId },
    );
    expect(resultOf(placed)).toMatchObject({ orderId, version: 1 });
    expect(placed.message.properties.contentType).toBe('application/json');

    const added = await client.send(commandPatterns.addItem, {
      orderId,
      expectedVersion: 1,
      body: { sku: 'SKU-1', quantity: 3, unitPrice: 250 },
    });
    expect(resultOf(added)).toMatchObject({ orderId, version: 2 });
    const confirmed = await client.send(commandPatterns.confirm, { orderId });
    const result = resultOf(confirmed);
    expect(result).toMatchObject({ orderId, version: 3 });
    expect(result.consistencyToken).toEqual(expect.any(String));

    const events = await eventsOf(orderId);
    expect(events.map((e) => [e.type, e.version])).toEqual([
      ['OrderPlaced', 1],
      ['OrderItemAdded', 2],
      ['OrderConfirmed', 3],
    ]);
    expect(events[0]).toMatchObject({ correlationId: 'checkout-42', causationId: placeMessageId });
    expect(events[2]!.data).toMatchObject({ total: 750, itemCount: 3 });
  });

  it('answers invalid input with a 400 problem listing every field', async () => {
    const invalidBody = problemOf(
      await client.send(commandPatterns.place, {
        body: { customerId: 'not valid!', currency: 'eur', coupon: 'FREE' },
      }),
    );
    expect(invalidBody).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect(invalidBody.errors?.map((e) => e.path).sort()).toEqual([
      'body',
      'body.currency',
      'body.customerId',
    ]);

    const noOrder = problemOf(
      await client.send(commandPatterns.addItem, {
        body: { sku: 'SKU-1', quantity: 1, unitPrice: 1 },
      }),
    );
    expect(noOrder).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect(noOrder.errors).toEqual([{ path: 'orderId', message: expect.any(String) }]);

    const unknownField = problemOf(
      await client.send(commandPatterns.confirm, { orderId: randomUUID(), priority: 'high' }),
    );
    expect(unknownField).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
  });

  it('answers a command the order rules refuse with the rule code', async () => {
    const placed = resultOf(
      await client.send(commandPatterns.place, { body: { customerId: 'c-1', currency: 'EUR' } }),
    );
    const empty = problemOf(
      await client.send(commandPatterns.confirm, { orderId: placed.orderId }),
    );
    expect(empty).toMatchObject({ status: 409, code: 'ORDER_EMPTY' });

    const unknown = problemOf(
      await client.send(commandPatterns.confirm, { orderId: randomUUID() }),
    );
    expect(unknown).toMatchObject({ status: 404, code: 'ORDER_NOT_FOUND' });

    const stale = problemOf(
      await client.send(commandPatterns.cancel, {
        orderId: placed.orderId,
        expectedVersion: 7,
        body: { reason: 'changed my mind' },
      }),
    );
    expect(stale).toMatchObject({ status: 412, code: 'VERSION_MISMATCH' });
    expect(await eventsOf(placed.orderId)).toHaveLength(1);
  });

  it('answers a repeat with the same idempotency key with the first result, writing once', async () => {
    const idempotencyKey = `key-${randomUUID()}`;
    const body = {
      customerId: 'c-1',
      currency: 'EUR',
      items: [{ sku: 'A', quantity: 1, unitPrice: 5 }],
    };
    const first = await client.send(commandPatterns.place, { idempotencyKey, body });
    const again = await client.send(commandPatterns.place, { idempotencyKey, body });
    expect(again.body).toEqual(first.body);
    expect(first.message.properties.headers?.[IDEMPOTENT_REPLAYED_HEADER]).toBeUndefined();
    expect(again.message.properties.headers?.[IDEMPOTENT_REPLAYED_HEADER]).toBe('true');
    const { orderId } = resultOf(first);
    expect(await eventsOf(orderId)).toHaveLength(1);

    // The same key names the same request over REST too.
    const overHttp = await fetch(`${service.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: JSON.stringify(body),
    });
    expect(overHttp.status).toBe(201);
    expect(overHttp.headers.get('idempotent-replayed')).toBe('true');
    expect(await overHttp.json()).toEqual(resultOf(first));

    const reused = problemOf(
      await client.send(commandPatterns.place, {
        idempotencyKey,
        body: { ...body, currency: 'USD' },
      }),
    );
    expect(reused).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(await eventsOf(orderId)).toHaveLength(1);
  });

  it('answers what it cannot read with a problem, dead-letters what it cannot answer, and goes on', async () => {
    const notJson = problemOf(
      await client.request(Buffer.from('{"body": '), { type: commandPatterns.place }),
    );
    expect(notJson).toMatchObject({ status: 400, code: 'MALFORMED_JSON' });
    const unknownPattern = problemOf(
      await client.send('order.teleport', { orderId: randomUUID() }),
    );
    expect(unknownPattern).toMatchObject({ status: 400, code: 'UNKNOWN_COMMAND' });
    const noPattern = problemOf(
      await client.request(Buffer.from('{}'), { contentType: 'application/json' }),
    );
    expect(noPattern).toMatchObject({ status: 400, code: 'UNKNOWN_COMMAND' });

    const garbageId = randomUUID();
    await client.publishWithoutReplyTo(Buffer.from([0xff, 0xfe, 0x00, 0x01]), {
      messageId: garbageId,
      type: commandPatterns.place,
    });
    const orphanId = randomUUID();
    await client.publishWithoutReplyTo(
      Buffer.from(JSON.stringify({ body: { customerId: 'c-1', currency: 'EUR' } })),
      { messageId: orphanId, type: commandPatterns.place, contentType: 'application/json' },
    );
    await waitFor(
      'both unanswerable messages in the dead-letter queue',
      async () => (await queueDepth(vhost, ORDERS_COMMANDS_DEAD_LETTER_QUEUE)) >= 2,
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    const ids = (await deadLettersIn('commands')).map((m) => m.properties.messageId as string);
    expect(ids).toEqual(expect.arrayContaining([garbageId, orphanId]));

    const live = await fetch(`${service.url}/health/live`);
    expect(live.status).toBe(200);
    const placed = resultOf(
      await client.send(commandPatterns.place, { body: { customerId: 'c-2', currency: 'EUR' } }),
    );
    expect(placed.version).toBe(1);
  });

  it('keeps answering after its RabbitMQ connection is cut', async () => {
    const closed = await dropConnections(vhost, 'orders-command-service.OrdersCommandsConsumer');
    expect(closed).toBe(1);
    const placed = await waitFor(
      'a command answered after reconnecting',
      async () =>
        resultOf(
          await client.send(commandPatterns.place, {
            body: { customerId: 'c-3', currency: 'EUR' },
          }),
        ),
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(placed.version).toBe(1);
  });
});

describe('payment.succeeded', () => {
  it('pays a confirmed order exactly once when the same payment arrives twice', async () => {
    const { orderId, total } = await confirmedOrder();
    const payment = { orderId, paymentId: `pay-${randomUUID()}`, amount: total };
    await client.publishPayment(payment);
    await client.publishPayment(payment);

    const paid = await waitFor('the OrderPaid event', async () =>
      (await eventsOf(orderId)).find((e) => e.type === 'OrderPaid'),
    );
    expect(paid).toMatchObject({
      version: 3,
      data: { paymentId: payment.paymentId, amount: total, currency: 'EUR' },
    });
    // Both deliveries acked (none left, none dead-lettered), one event.
    await waitFor(
      'both payment deliveries settled',
      async () => (await client.channel.checkQueue(PAYMENTS_QUEUE)).messageCount === 0,
    );
    await delay(1_000);
    expect((await eventsOf(orderId)).filter((e) => e.type === 'OrderPaid')).toHaveLength(1);
    expect(
      (await deadLettersIn('payments')).filter((m) => m.content.toString().includes(orderId)),
    ).toEqual([]);
  });

  it('dead-letters and logs a payment with the wrong amount, writing no event', async () => {
    const { orderId, total } = await confirmedOrder();
    const paymentId = `pay-${randomUUID()}`;
    await client.publishPayment({ orderId, paymentId, amount: total - 1 });

    const deadLettered = await waitFor('the refused payment in the dead-letter queue', async () =>
      (await deadLettersIn('payments')).find((m) => m.content.toString().includes(paymentId)),
    );
    expect(JSON.parse(deadLettered.content.toString())).toEqual({
      orderId,
      paymentId,
      amount: total - 1,
    });
    expect((await eventsOf(orderId)).map((e) => e.type)).toEqual(['OrderPlaced', 'OrderConfirmed']);
    expect(service.output()).toContain(
      `code=PAYMENT_AMOUNT_MISMATCH orderId=${orderId} paymentId=${paymentId}`,
    );
  });

  it('dead-letters a payment message that is not valid', async () => {
    const messageId = randomUUID();
    await client.publishPayment({ orderId: 'not-a-uuid', paymentId: 'p', amount: -5 }, messageId);
    await waitFor('the invalid payment in the dead-letter queue', async () =>
      (await deadLettersIn('payments')).some((m) => m.properties.messageId === messageId),
    );
    expect(service.output()).toContain('code=INVALID_MESSAGE');
  });

  it('retries a payment while PostgreSQL fails, then pays it once', async () => {
    const { orderId, total } = await confirmedOrder();
    const paymentId = `pay-${randomUUID()}`;
    await withDatabase(async (db) => {
      // Every pay command now fails as it would with the database unreachable.
      await db.query('ALTER TABLE idempotency_keys RENAME TO idempotency_keys_away');
      try {
        await client.publishPayment({ orderId, paymentId, amount: total });
        await waitFor('a retried payment', () =>
          service.output().includes(`payment ${paymentId} failed (delivery 2)`),
        );
      } finally {
        await db.query('ALTER TABLE idempotency_keys_away RENAME TO idempotency_keys');
      }
    });
    await waitFor(
      'the OrderPaid event after the retries',
      async () => (await eventsOf(orderId)).find((e) => e.type === 'OrderPaid'),
      { timeoutMs: 20_000 },
    );
    expect((await eventsOf(orderId)).filter((e) => e.type === 'OrderPaid')).toHaveLength(1);
    expect(
      (await deadLettersIn('payments')).filter((m) => m.content.toString().includes(paymentId)),
    ).toEqual([]);
  });
});

describe('stopping the service', () => {
  it('finishes and answers a command in hand before it exits (runs last: it stops the service)', async () => {
    const placed = resultOf(
      await client.send(commandPatterns.place, { body: { customerId: 'c-4', currency: 'EUR' } }),
    );
    await withDatabase(async (db) => {
      await db.query('BEGIN');
      await db.query('LOCK TABLE idempotency_keys IN ACCESS EXCLUSIVE MODE');
      const reply = client.send(commandPatterns.cancel, {
        orderId: placed.orderId,
        idempotencyKey: `cancel-${placed.orderId}`,
        body: { reason: 'stopping' },
      });
      await waitFor('the command to wait on the lock', async () => {
        const { rows } = await db.query<{ waiting: number }>(
          `SELECT count(*)::int AS waiting FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        return rows[0]!.waiting > 0;
      });
      const stopped = service.stop('SIGTERM');
      await delay(500);
      expect([service.child.exitCode, service.child.signalCode]).toEqual([null, null]);
      await db.query('COMMIT');
      expect(resultOf(await reply)).toMatchObject({ orderId: placed.orderId, version: 2 });
      await stopped;
      const { rows } = await db.query<{ type: string }>(
        'SELECT type FROM order_events WHERE order_id = $1 ORDER BY version',
        [placed.orderId],
      );
      expect(rows.map((row) => row.type)).toEqual(['OrderPlaced', 'OrderCancelled']);
    });
    // Acked before the service exited: nothing went back to the queue.
    expect((await client.channel.checkQueue(ORDERS_COMMANDS_QUEUE)).messageCount).toBe(0);
  });
});
