import type { EventEnvelope } from '@orders/contracts';
import { connect } from 'amqplib';
import {
  bootstrapQueryService,
  type RunningQueryService,
} from '../apps/query-service/src/bootstrap-query-service';
import {
  assertOrderEventsTopology,
  orderEventsTopologyOf,
} from '../apps/query-service/src/consumers/order-events.topology';
import { httpGet } from './support/http-client';
import { createTestDatabase, type TestDatabase } from './support/mongo-test-database';
import { OrderEventStream } from './support/order-event.stream';
import { OrderEventsPublisher } from './support/order-events.publisher';
import { createVhost, deleteVhost } from './support/rabbitmq';
import { uniqueName } from './support/test-names';
import { waitFor } from './support/wait-for';

/*
 * §8 for the query side: /health/ready fails while the projection lags beyond its bound, and
 * /metrics reports events handled and the lag, in events and seconds.
 */

const QUEUE = 'orders.query-service';
const BACKLOG = 300;

let vhost: string;
let amqpUrl: string;
let database: TestDatabase;
let service: RunningQueryService | undefined;
let publisher: OrderEventsPublisher;

interface Ready {
  status: string;
  checks: Record<string, { status: string; reason?: string }>;
}

function metric(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((row) => row.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

async function scrape(): Promise<string> {
  return (await httpGet<string>(`${service!.url}/metrics`)).body;
}

beforeAll(async () => {
  vhost = uniqueName('query-lag');
  amqpUrl = await createVhost(vhost);
  database = await createTestDatabase('query_lag');
  publisher = await OrderEventsPublisher.open(amqpUrl);
});

afterAll(async () => {
  await publisher?.close().catch(() => undefined);
  await service?.app.close().catch(() => undefined);
  if (vhost) await deleteVhost(vhost);
  await database?.drop();
});

describe('projection lag: readiness and metrics', () => {
  it('is not ready while a backlog over the bound waits, reports the lag, and is ready once caught up', async () => {
    // A backlog of events that happened two minutes ago, waiting before the service starts.
    const connection = await connect(amqpUrl);
    await assertOrderEventsTopology(await connection.createChannel(), orderEventsTopologyOf(QUEUE));
    await connection.close();
    const longAgo = Date.now() - 120_000;
    const orders = Array.from({ length: BACKLOG / 3 }, () => new OrderEventStream());
    const backlog: EventEnvelope[] = orders.flatMap((order, index) =>
      [
        order.placed({ items: [{ sku: 'OLD', quantity: 1, unitPrice: 100 }] }),
        order.confirmed(),
        order.paid(`p-${index}`),
      ].map((event, step) => ({
        ...event,
        occurredAt: new Date(longAgo + index * 10 + step).toISOString(),
      })),
    );
    await publisher.publish(...backlog);

    service = await bootstrapQueryService({
      config: {
        port: 0,
        mongodbUrl: database.url,
        rabbitmqUrl: amqpUrl,
        queryQueueName: QUEUE,
        // One delivery at a time keeps the backlog in the queue long enough to observe.
        prefetch: 1,
        readyMaxLagEvents: 50,
        readyMaxLagSeconds: 30,
      },
      logger: process.env.TEST_LOGS ? undefined : false,
      shutdownHooks: false,
    });

    const behind = await waitFor('readiness to report the lag', async () => {
      const ready = await httpGet<Ready>(`${service!.url}/health/ready`);
      return ready.status === 503 && ready.body.checks.projection?.status === 'down'
        ? ready.body
        : undefined;
    });
    expect(behind.checks.projection?.reason).toMatch(/events wait to be projected|s behind/);
    const whileBehind = await waitFor('a lag in seconds', async () => {
      const text = await scrape();
      const seconds = metric(text, 'orders_projection_lag_seconds');
      return seconds !== undefined && seconds > 60 ? text : undefined;
    });
    expect(metric(whileBehind, 'orders_projection_lag_events')).toBeGreaterThan(0);

    await waitFor(
      'ready again once caught up',
      async () => (await httpGet<Ready>(`${service!.url}/health/ready`)).status === 200,
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    const caughtUp = await scrape();
    expect(metric(caughtUp, 'orders_projection_lag_events')).toBe(0);
    expect(metric(caughtUp, 'orders_projection_lag_seconds')).toBe(0);
    expect(
      metric(caughtUp, 'orders_projection_events_total', '{outcome="applied",type="OrderPlaced"}'),
    ).toBe(BACKLOG / 3);
    expect(
      metric(caughtUp, 'orders_projection_events_total', '{outcome="applied",type="OrderPaid"}'),
    ).toBe(BACKLOG / 3);
  });

  it('counts duplicates and dead letters by outcome', async () => {
    const order = new OrderEventStream();
    const placed = order.placed();
    await publisher.publish(placed, placed);
    await publisher.publishRaw('order.placed', 'not json', 'not-json-1');
    await waitFor('both outcomes counted', async () => {
      const text = await scrape();
      const duplicates = metric(
        text,
        'orders_projection_events_total',
        '{outcome="duplicate",type="OrderPlaced"}',
      );
      const invalid = metric(
        text,
        'orders_projection_events_total',
        '{outcome="dead_lettered",type="invalid"}',
      );
      return duplicates === 1 && invalid === 1 ? true : undefined;
    });
    await waitFor('the dead letter stored and gauged', async () => {
      const dead = metric(await scrape(), 'orders_dead_letters');
      return dead === 1 ? true : undefined;
    });
  });
});
