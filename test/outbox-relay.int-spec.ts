import { ORDERS_EVENTS_EXCHANGE, routingKeyOf, type EventEnvelope } from '@orders/contracts';
import { DataSource } from 'typeorm';
import { createDataSource } from '../apps/command-service/src/database/data-source';
import { ConnectionCuttingProxy } from './support/connection-cutting-proxy';
import { OrderEventStore } from '../apps/command-service/src/event-store/order-event-store';
import { writeOrderPlacedBacklog } from './support/event-backlog';
import { newOrderAppend } from './support/new-order-append';
import { metricSum } from './support/metrics';
import { databaseUrl, dropDatabase, openTransactionWithId } from './support/postgres';
import {
  amqpUrl as brokerUrl,
  createVhost,
  deleteVhost,
  ExchangeObserver,
} from './support/rabbitmq';
import { startService, type ServiceProcess } from './support/service-process';
import { uniqueName } from './support/test-names';
import { waitFor } from './support/wait-for';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function post(service: ServiceProcess, path: string, body: unknown) {
  const response = await fetch(`${service.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status >= 300)
    throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as { orderId: string; version: number };
}

/**
 * One writer: places an order and adds a few items, until `commands` commands are done and
 * `more` says no more. Returns how many commands (one event each) it wrote.
 */
async function writer(
  service: () => ServiceProcess,
  commands: number,
  more: () => boolean = () => false,
): Promise<number> {
  let orderId = '';
  let i = 0;
  for (; i < commands || more(); i++) {
    if (i % 5 === 0) {
      ({ orderId } = await post(service(), '/orders', { customerId: 'writer', currency: 'EUR' }));
    } else {
      await post(service(), `/orders/${orderId}/items`, {
        sku: `S${i}`,
        quantity: 1,
        unitPrice: 100,
      });
    }
  }
  return i;
}

describe('outbox relay', () => {
  let database: string;
  let vhost: string;
  let amqpUrl: string;
  let observer: ExchangeObserver;
  let dataSource: DataSource;
  const services: ServiceProcess[] = [];

  const env = () => ({ DATABASE_URL: databaseUrl(database), RABBITMQ_URL: amqpUrl });

  beforeEach(async () => {
    database = uniqueName('orders_relay');
    vhost = uniqueName('orders_relay');
    amqpUrl = await createVhost(vhost);
    observer = await ExchangeObserver.start(amqpUrl, ORDERS_EVENTS_EXCHANGE);
  });

  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.stop('SIGKILL')));
    await observer.close();
    if (dataSource?.isInitialized) await dataSource.destroy();
    await deleteVhost(vhost);
    await dropDatabase(database);
  });

  async function storedPositions(): Promise<string[]> {
    const rows: { position: string }[] = await dataSource.query(
      'SELECT position::text FROM order_events ORDER BY order_events.position',
    );
    return rows.map((r) => r.position);
  }

  async function waitUntilObserved(expected: string[]) {
    await waitFor('every stored event to be published', () => {
      const seen = new Set(observer.bodies<EventEnvelope>().map((e) => e.position));
      return expected.every((p) => seen.has(p)) ? true : undefined;
    });
  }

  it('publishes every event exactly once in position order while transactions commit out of order', async () => {
    const service = await startService('command', env());
    services.push(service);
    dataSource = createDataSource(databaseUrl(database), 4);
    await dataSource.initialize();
    const store = new OrderEventStore(dataSource);

    const overtaken: { held: bigint; committedAbove: bigint }[] = [];
    // Each held transaction takes its position first, then waits while the writers commit
    // higher positions, then commits: the relay must neither skip it nor publish it late.
    // The writers keep going until every held transaction has committed.
    let holding = 3;
    const holdOpen = async (delayMs: number) => {
      await sleep(delayMs);
      await dataSource
        .transaction(async (manager) => {
          const [appended] = await store.appendToStreams(manager, [newOrderAppend('held')]);
          await sleep(700);
          const [max] = await dataSource.query<{ max: string }[]>(
            'SELECT max(position)::text AS max FROM order_events',
          );
          if (!Array.isArray(appended)) throw new Error('the held append was refused');
          const event = appended[0];
          overtaken.push({ held: BigInt(event!.position), committedAbove: BigInt(max!.max) });
        })
        .finally(() => {
          holding -= 1;
        });
    };

    const [written] = await Promise.all([
      Promise.all(
        Array.from({ length: 24 }, () =>
          writer(
            () => service,
            15,
            () => holding > 0,
          ),
        ),
      ),
      holdOpen(100),
      holdOpen(400),
      holdOpen(900),
    ]);

    const stored = await storedPositions();
    expect(stored).toHaveLength(written.reduce((sum, n) => sum + n, 0) + 3);
    expect(overtaken).toHaveLength(3);
    for (const { held, committedAbove } of overtaken) expect(committedAbove).toBeGreaterThan(held);

    await waitUntilObserved(stored);
    await sleep(300);
    const published = observer.bodies<EventEnvelope>().map((e) => e.position);
    expect(published).toEqual(stored);
    for (const message of observer.messages) {
      const body = JSON.parse(message.content.toString()) as EventEnvelope;
      expect(message.properties.messageId).toBe(body.eventId);
      expect(message.properties.type).toBe(body.type);
      expect(message.properties.contentType).toBe('application/json');
      expect(message.properties.deliveryMode).toBe(2);
    }
  });

  it('pages the feed and publishes in numeric position order where positions gain a digit', async () => {
    // Created and migrated by a service that does not relay; the events are then given
    // positions that sort differently as numbers and as text.
    const feedService = await startService('command', { ...env(), RELAY_ENABLED: 'false' });
    services.push(feedService);
    dataSource = createDataSource(databaseUrl(database), 2);
    await dataSource.initialize();
    const positions = ['9', '10', '11', '99', '100', '101', '1000'];
    const store = new OrderEventStore(dataSource);
    await dataSource.transaction((manager) =>
      store.appendToStreams(
        manager,
        positions.map(() => newOrderAppend('digits')),
      ),
    );
    await dataSource.query(
      `UPDATE order_events SET position = numbered.position
         FROM (SELECT event_id, (ARRAY[${positions.join(',')}]::bigint[])[row_number() OVER (ORDER BY position)] AS position
                 FROM order_events) AS numbered
        WHERE order_events.event_id = numbered.event_id`,
    );
    expect(await storedPositions()).toEqual(positions);

    const paged: string[] = [];
    let after = '0';
    for (;;) {
      const response = await fetch(`${feedService.url}/events?after=${after}&limit=2`);
      const page = (await response.json()) as { events: EventEnvelope[]; lastPosition: string };
      paged.push(...page.events.map((e) => e.position));
      if (page.events.length < 2) break;
      after = page.lastPosition;
    }
    expect(paged).toEqual(positions);

    services.push(await startService('command', { ...env(), RELAY_BATCH_SIZE: '2' }));
    await waitUntilObserved(positions);
    expect(observer.bodies<EventEnvelope>().map((e) => e.position)).toEqual(positions);
  });

  it('backs off from an unroutable event on its own clock: steady commits do not cut it short', async () => {
    // Only OrderPlaced is routed: the first ItemAdded is unroutable and holds the relay there.
    await observer.close();
    observer = await ExchangeObserver.start(
      amqpUrl,
      ORDERS_EVENTS_EXCHANGE,
      routingKeyOf('OrderPlaced'),
    );
    const service = await startService('command', env());
    services.push(service);
    dataSource = createDataSource(databaseUrl(database), 2);
    await dataSource.initialize();
    const unroutable = async () =>
      metricSum(
        await (await fetch(`${service.url}/metrics`)).text(),
        'orders_relay_unroutable_total',
      );

    let writing = true;
    const writers = Promise.all(
      Array.from({ length: 4 }, () =>
        writer(
          () => service,
          0,
          () => writing,
        ),
      ),
    );
    await waitFor('the first unroutable event', async () =>
      (await unroutable()) > 0 ? true : undefined,
    );
    await sleep(3_000);
    const attempts = await unroutable();
    writing = false;
    const commands = (await writers).reduce((sum, n) => sum + n, 0);
    // Backoff 0.5 s, doubling: the first attempt and about three retries in 3 s, while the
    // writers committed hundreds of events (each commit woke the relay before the fix).
    expect(commands).toBeGreaterThan(100);
    expect(attempts).toBeLessThanOrEqual(5);

    // Bound again: the relay publishes everything from the unroutable event on, in order.
    const routed = await ExchangeObserver.start(amqpUrl, ORDERS_EVENTS_EXCHANGE);
    try {
      const stored = await storedPositions();
      const placedBefore = observer.bodies<EventEnvelope>().map((e) => e.position);
      // In the order first seen: a batch published while the binding came may go out twice.
      const seen = await waitFor(
        'every later event through the new binding',
        () => {
          const positions = [...new Set(routed.bodies<EventEnvelope>().map((e) => e.position))];
          return positions.includes(stored.at(-1)!) ? positions : undefined;
        },
        { timeoutMs: 30_000 },
      );
      expect([...placedBefore.filter((p) => !seen.includes(p)), ...seen]).toEqual(stored);
    } finally {
      await routed.close();
    }
  });

  it('loses nothing when the relay is killed and restarted mid-stream', async () => {
    const writerService = await startService('command', { ...env(), RELAY_ENABLED: 'false' });
    services.push(writerService);
    dataSource = createDataSource(databaseUrl(database), 2);
    await dataSource.initialize();
    let relay = await startService('command', env());
    services.push(relay);

    let writing = true;
    const kills = (async () => {
      for (let i = 0; i < 5 && writing; i++) {
        await sleep(200 + Math.random() * 400);
        await relay.stop('SIGKILL');
        relay = await startService('command', env());
        services.push(relay);
      }
    })();
    await Promise.all(Array.from({ length: 20 }, () => writer(() => writerService, 15)));
    writing = false;
    await kills;

    const stored = await storedPositions();
    expect(stored).toHaveLength(20 * 15);
    await waitUntilObserved(stored);

    // Duplicates are allowed after a crash; loss and reordering are not.
    const firstSeen: string[] = [];
    const seen = new Set<string>();
    for (const envelope of observer.bodies<EventEnvelope>()) {
      if (!seen.has(envelope.position)) firstSeen.push(envelope.position);
      seen.add(envelope.position);
    }
    expect(firstSeen).toEqual(stored);
  });

  it('moves its checkpoint only past what the broker confirmed: confirms withheld, a kill, and its successor publishes those events again', async () => {
    const proxy = await ConnectionCuttingProxy.start({ host: '127.0.0.1', port: 5672 });
    try {
      const writerService = await startService('command', { ...env(), RELAY_ENABLED: 'false' });
      services.push(writerService);
      dataSource = createDataSource(databaseUrl(database), 2);
      await dataSource.initialize();
      const relay = await startService('command', {
        ...env(),
        RABBITMQ_URL: brokerUrl(vhost, proxy.port),
      });
      services.push(relay);
      const checkpoint = async () =>
        (
          await dataSource.query<{ position: string }[]>(
            'SELECT position::text FROM relay_checkpoints',
          )
        )[0]?.position;
      await writer(() => writerService, 1);
      const [confirmed] = await storedPositions();
      await waitFor('the first event to be published and checkpointed', async () =>
        (await checkpoint()) === confirmed ? true : undefined,
      );

      // The broker still takes and routes what the relay publishes; its confirms stop there, so
      // the relay gets a batch or two out (the next goes while the broker confirms the last).
      proxy.holdingReplies = true;
      await writer(() => writerService, 20);
      const stored = await storedPositions();
      const timesSeen = () => {
        const counts = new Map<string, number>();
        for (const { position } of observer.bodies<EventEnvelope>()) {
          counts.set(position, (counts.get(position) ?? 0) + 1);
        }
        return counts;
      };
      await waitFor('the relay to publish while its confirms are withheld', () =>
        timesSeen().size > 1 ? true : undefined,
      );
      // A relay that moved on without its confirms would have written the checkpoint by now.
      await sleep(1_000);
      expect(await checkpoint()).toBe(confirmed);
      const unconfirmed = [...timesSeen().keys()].filter((position) => position !== confirmed);

      await relay.stop('SIGKILL');
      services.push(await startService('command', env()));
      await waitUntilObserved(stored);
      await waitFor('the checkpoint to pass every event', async () =>
        (await checkpoint()) === stored.at(-1) ? true : undefined,
      );
      // What went out unconfirmed went out again; nothing else did.
      const seen = timesSeen();
      expect(stored.map((position) => seen.get(position))).toEqual(
        stored.map((position) => (unconfirmed.includes(position) ? 2 : 1)),
      );
    } finally {
      await proxy.close();
    }
  });

  it('confirms and checkpoints what it published before it stops: its successor publishes nothing twice', async () => {
    const writerService = await startService('command', { ...env(), RELAY_ENABLED: 'false' });
    services.push(writerService);
    dataSource = createDataSource(databaseUrl(database), 2);
    await dataSource.initialize();
    // A backlog the relay is still draining when it is told to stop.
    await writeOrderPlacedBacklog(dataSource, 30_000);
    const stored = await storedPositions();

    const relay = await startService('command', env());
    services.push(relay);
    await waitFor('the relay to be draining', async () => {
      const rows: unknown[] = await dataSource.query(
        'SELECT 1 FROM relay_checkpoints WHERE position > 0',
      );
      return rows.length > 0 ? true : undefined;
    });
    expect(await relay.stop('SIGTERM')).toBe(0);
    const [{ position }] = await dataSource.query<[{ position: string }]>(
      'SELECT position::text FROM relay_checkpoints',
    );
    expect(BigInt(position)).toBeLessThan(BigInt(stored.at(-1)!));

    services.push(await startService('command', env()));
    await waitUntilObserved(stored);
    await sleep(500);
    const published = observer.bodies<EventEnvelope>().map((e) => e.position);
    expect(published).toHaveLength(stored.length);
    expect(published).toEqual(stored);
  });

  const orderPublished = (orderId: string) =>
    observer.bodies<EventEnvelope>().some((e) => e.orderId === orderId);

  async function startRelayAndPublishOne(): Promise<ServiceProcess> {
    // The poll would take a minute: only a commit or the relay's own retry can publish in time.
    const service = await startService('command', { ...env(), RELAY_POLL_INTERVAL_MS: '60000' });
    services.push(service);
    const placed = await post(service, '/orders', { customerId: 'before', currency: 'EUR' });
    await waitFor('the relay to publish', () => orderPublished(placed.orderId));
    return service;
  }

  it('publishes an event held back by an open transaction of its database as soon as it ends, with no commit to wake it', async () => {
    const service = await startRelayAndPublishOne();
    const blocker = await openTransactionWithId(database);
    try {
      const held = await post(service, '/orders', { customerId: 'held', currency: 'EUR' });
      await sleep(500);
      const published = () => orderPublished(held.orderId);
      expect(published()).toBe(false);

      await blocker.query('ROLLBACK');
      await waitFor('the held-back event to be published', published, { timeoutMs: 5_000 });
    } finally {
      await blocker.end();
    }
  });

  it("is not held back by another database's open transaction", async () => {
    const service = await startRelayAndPublishOne();
    const blocker = await openTransactionWithId('postgres');
    try {
      const placed = await post(service, '/orders', { customerId: 'beside', currency: 'EUR' });
      await waitFor(
        'the event to be published while the other transaction is open',
        () => orderPublished(placed.orderId),
        { timeoutMs: 2_000 },
      );
    } finally {
      await blocker.end();
    }
  });
});
