import {
  encodeConsistencyToken,
  PROBLEM_CONTENT_TYPE,
  type EventEnvelope,
  type ProblemDetails,
} from '@orders/contracts';
import {
  bootstrapQueryService,
  type RunningQueryService,
} from '../apps/query-service/src/bootstrap-query-service';
import { takeAllMessages } from './support/dead-letter-queue';
import { httpGet, type HttpAnswer } from './support/http-client';
import { createTestDatabase, type TestDatabase } from './support/mongo-test-database';
import { OrderEventStream } from './support/order-event.stream';
import { OrderEventsPublisher } from './support/order-events.publisher';
import { deliveryOrderOf, generateOrderLives } from './support/order-scenario';
import { createVhost, deleteVhost } from './support/rabbitmq';
import {
  eventsByOrder,
  expectedHistory,
  expectedOrderView,
  listOrder,
  recountDailyStats,
  recountProductStats,
  type ExpectedOrderView,
} from './support/read-model.recount';
import { uniqueName } from './support/test-names';
import { waitFor } from './support/wait-for';

/*
 * Every read model of §5 against a real RabbitMQ and FerretDB: a realistic mix of order lives
 * published as the relay does, with duplicates and reordering, then every document and every
 * stats row compared with a recount made here from the same events.
 */

const QUEUE = 'orders.query-service';
const START_DAY = '2026-03-01';
const DAYS = 6;

let vhost: string;
let database: TestDatabase;
let service: RunningQueryService;
let publisher: OrderEventsPublisher;
/** Every event published so far, duplicates included; the recount dedupes. */
const published: EventEnvelope[] = [];

async function publish(...events: EventEnvelope[]): Promise<void> {
  published.push(...events);
  for (let index = 0; index < events.length; index += 200) {
    await publisher.publish(...events.slice(index, index + 200));
  }
}

const get = <T>(path: string, headers: Record<string, string> = {}) =>
  httpGet<T>(`${service.url}${path}`, headers);

function storedViews() {
  return database.client
    .db(database.name)
    .collection<{ _id: string; version: number }>('order_views_g1');
}

/** Resolves once every order's view is at the last version published for it. */
async function waitUntilApplied(timeoutMs = 60_000): Promise<void> {
  const expected = new Map(
    [...eventsByOrder(published)].map(([id, events]) => [id, events.at(-1)!.version]),
  );
  await waitFor(
    `${expected.size} orders at their last version`,
    async () => {
      const stored = await storedViews()
        .find({}, { projection: { _id: 1, version: 1 } })
        .toArray();
      const versions = new Map(stored.map((doc) => [doc._id, doc.version]));
      const behind = [...expected].filter(([id, version]) => versions.get(id) !== version);
      return behind.length === 0 ? true : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

function expectProblem(answer: HttpAnswer, status: number, code: string): void {
  expect(answer.status).toBe(status);
  expect(answer.headers.get('content-type')).toContain(PROBLEM_CONTENT_TYPE);
  expect(answer.body as Partial<ProblemDetails>).toMatchObject({ status, code });
}

interface ListPage {
  items: (Omit<ExpectedOrderView, 'items'> & { items?: unknown })[];
  nextCursor: string | null;
}

async function listAll(query: string, limit: number): Promise<ListPage['items']> {
  const items: ListPage['items'] = [];
  let cursor: string | null = null;
  do {
    const separator = query ? '&' : '';
    const path: string = `/orders?${query}${separator}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
    const page = await get<ListPage>(path);
    expect(page.status).toBe(200);
    expect(page.body.items.length).toBeLessThanOrEqual(limit);
    items.push(...page.body.items);
    cursor = page.body.nextCursor;
  } while (cursor !== null);
  return items;
}

function summaryOf(view: ExpectedOrderView) {
  const { items: _items, payment: _p, shipment: _s, cancellation: _c, ...summary } = view;
  return summary;
}

let throughput = { events: 0, seconds: 0 };

beforeAll(async () => {
  vhost = uniqueName('query-read-models');
  const amqpUrl = await createVhost(vhost);
  database = await createTestDatabase('query_read_models');
  service = await bootstrapQueryService({
    config: { port: 0, mongodbUrl: database.url, rabbitmqUrl: amqpUrl, queryQueueName: QUEUE },
    logger: process.env.TEST_LOGS ? undefined : false,
    shutdownHooks: false,
  });
  publisher = await OrderEventsPublisher.open(amqpUrl);

  const lives = generateOrderLives({
    orders: 150,
    seed: 20261127,
    startDay: START_DAY,
    days: DAYS,
  });
  const delivery = deliveryOrderOf(lives, { seed: 7, duplicates: 0.1, swaps: 0.08 });
  const started = Date.now();
  await publish(...delivery);
  await waitUntilApplied();
  throughput = { events: delivery.length, seconds: (Date.now() - started) / 1000 };
  console.log(
    `projection: ${throughput.events} deliveries (${lives.flat().length} distinct events, ` +
      `${lives.length} orders) applied in ${throughput.seconds.toFixed(1)} s = ` +
      `${(throughput.events / throughput.seconds).toFixed(0)} deliveries/s`,
  );
});

afterAll(async () => {
  await publisher?.close().catch(() => undefined);
  await service?.app.close().catch(() => undefined);
  if (vhost) await deleteVhost(vhost);
  await database?.drop();
});

describe('query service read models (§5) after a realistic mix of events', () => {
  it('dead-letters nothing: every duplicate and early event was absorbed', async () => {
    const dead = await takeAllMessages(publisher.channel, `${QUEUE}.dead-letter`);
    expect(dead.map((message) => message.content.toString())).toEqual([]);
  });

  it('GET /orders/{id}: every view equals the recount of its events', async () => {
    for (const [orderId, events] of eventsByOrder(published)) {
      const answer = await get<ExpectedOrderView>(`/orders/${orderId}`);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('etag')).toBe(`"${events.length}"`);
      expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(answer.body).toEqual(expectedOrderView(events));
    }
  });

  it('finds a view by its id (every read, and every version-checked write) through an index', async () => {
    // MongoDB serves `{_id}` from its _id index; FerretDB 1.24 only does with our patch
    // (scripts/ferretdb/id-equality-pushdown.patch): unpatched, each such read scans every view.
    const [orderId] = eventsByOrder(published).keys();
    for (const filter of [{ _id: orderId! }, { _id: orderId!, version: 1 }]) {
      const plan = JSON.stringify(await storedViews().find(filter).explain());
      const ferretdbIndexScan = /"Node Type":"Index Scan"/.test(plan) && plan.includes('_id');
      const mongodbIdLookup = /"stage":"(IDHACK|EXPRESS_IXSCAN|IXSCAN)"/.test(plan);
      expect({ filter, indexed: ferretdbIndexScan || mongodbIdLookup }).toEqual({
        filter,
        indexed: true,
      });
    }
  });

  it('GET /orders/{id}/history: every event once, ascending; the store holds nothing else', async () => {
    const byOrder = eventsByOrder(published);
    for (const [orderId, events] of byOrder) {
      const answer = await get<unknown[]>(`/orders/${orderId}/history`);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual(expectedHistory(events));
    }
    const history = database.client.db(database.name).collection('order_history_g1');
    expect(await history.countDocuments()).toBe([...byOrder.values()].flat().length);
  });

  it('GET /orders/{id}?atVersion= and ?asOf= answer the order as it was then', async () => {
    const byOrder = [...eventsByOrder(published)].slice(0, 40);
    for (const [orderId, events] of byOrder) {
      for (const event of events) {
        const expected = expectedOrderView(events.slice(0, event.version));
        const atVersion = await get<ExpectedOrderView>(
          `/orders/${orderId}?atVersion=${event.version}`,
        );
        expect(atVersion.status).toBe(200);
        expect(atVersion.headers.get('etag')).toBe(`"${event.version}"`);
        expect(atVersion.body).toEqual(expected);
        const asOf = await get<ExpectedOrderView>(
          `/orders/${orderId}?asOf=${encodeURIComponent(event.occurredAt)}`,
        );
        expect(asOf.body).toEqual(expected);
      }
      const placedAt = Date.parse(events[0]!.occurredAt);
      const before = new Date(placedAt - 1).toISOString();
      expectProblem(await get(`/orders/${orderId}?asOf=${before}`), 404, 'ORDER_NOT_FOUND');
      expectProblem(
        await get(`/orders/${orderId}?atVersion=${events.length + 1}`),
        404,
        'ORDER_NOT_FOUND',
      );
    }
  });

  it('GET /orders pages through every filter in placedAt desc, orderId desc, exactly once', async () => {
    const views = [...eventsByOrder(published).values()].map((events) =>
      expectedOrderView(events)!,
    );
    const from = `${START_DAY}T12:00:00.000Z`;
    const to = '2026-03-04';
    const cases: [string, (view: ExpectedOrderView) => boolean][] = [
      ['', () => true],
      ['customerId=customer-2', (view) => view.customerId === 'customer-2'],
      ['status=paid', (view) => view.status === 'paid'],
      [
        'status=draft&customerId=customer-1',
        (v) => v.status === 'draft' && v.customerId === 'customer-1',
      ],
      [
        `placedFrom=${from}&placedTo=${to}`,
        (view) => view.placedAt >= from && view.placedAt < '2026-03-05T00:00:00.000Z',
      ],
    ];
    for (const [query, matches] of cases) {
      const expected = views.filter(matches).sort(listOrder).map(summaryOf);
      expect(expected.length).toBeGreaterThan(0);
      expect(await listAll(query, 7)).toEqual(expected);
    }
    const firstPage = await get<ListPage>('/orders');
    expect(firstPage.body.items).toHaveLength(20);
  });

  it('GET /orders never repeats or skips an order that existed when paging began, while orders are placed', async () => {
    const existing = [...eventsByOrder(published).values()]
      .map((events) => expectedOrderView(events)!)
      .sort(listOrder)
      .map((view) => view.orderId);
    const seen: string[] = [];
    let cursor: string | null = null;
    let round = 0;
    do {
      const page: HttpAnswer<ListPage> = await get<ListPage>(
        `/orders?limit=9${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...page.body.items.map((item) => item.orderId));
      cursor = page.body.nextCursor;
      // New orders land before, between and after the pages already read.
      const newcomers = [0, 1, 2].map(() => new OrderEventStream());
      const times = [
        Date.parse(`${START_DAY}T00:00:00Z`) + round * 3_600_000,
        Date.now(),
        Date.parse('2026-03-03T08:00:00Z'),
      ];
      await publish(
        ...newcomers.map((order, index) => ({
          ...order.placed({ customerId: 'customer-late' }),
          occurredAt: new Date(times[index]!).toISOString(),
        })),
      );
      round += 1;
    } while (cursor !== null);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => existing.includes(id))).toEqual(existing);
    await waitUntilApplied();
  });

  it('GET /stats/products equals the recount for every currency and sort', async () => {
    const byOrder = eventsByOrder(published);
    for (const currency of [undefined, 'EUR', 'USD', 'JPY', 'GBP']) {
      for (const sortBy of ['revenue', 'unitsSold'] as const) {
        for (const limit of [100, 3]) {
          const query = `sortBy=${sortBy}&limit=${limit}${currency ? `&currency=${currency}` : ''}`;
          const answer = await get(`/stats/products?${query}`);
          expect(answer.status).toBe(200);
          expect(answer.body).toEqual(recountProductStats(byOrder, { currency, sortBy, limit }));
        }
      }
    }
    const byDefault = await get<unknown[]>('/stats/products');
    expect(byDefault.body).toEqual(recountProductStats(byOrder, { sortBy: 'revenue', limit: 10 }));
  });

  it('GET /stats/daily equals the recount, one row per day with zeros', async () => {
    const byOrder = eventsByOrder(published);
    for (const currency of ['EUR', 'USD', 'JPY', 'GBP']) {
      for (const [from, to] of [
        ['2026-02-20', '2026-03-15'],
        ['2026-03-02', '2026-03-02'],
        ['2025-03-02', '2026-03-02'],
      ] as const) {
        const answer = await get<{ date: string }[]>(
          `/stats/daily?currency=${currency}&from=${from}&to=${to}`,
        );
        expect(answer.status).toBe(200);
        expect(answer.body).toEqual(recountDailyStats(byOrder, currency, from, to));
      }
    }
    const rows = recountDailyStats(byOrder, 'EUR', START_DAY, '2026-03-10');
    expect(
      rows.some((row) => row.ordersCancelled > 0 && row.revenue < 0) ||
        rows.some((row) => row.ordersCancelled > 0),
    ).toBe(true);
    expect(rows.reduce((sum, row) => sum + row.ordersPlaced, 0)).toBeGreaterThan(20);
  });

  it('honours X-Consistency-Token on lists and stats: waits for the write, or 503', async () => {
    const order = new OrderEventStream();
    const placed = {
      ...order.placed({
        currency: 'GBP',
        customerId: 'customer-token',
        items: [{ sku: 'SCONE', quantity: 4, unitPrice: 250 }],
      }),
      occurredAt: '2026-03-02T10:00:00.000Z',
    };
    const confirmed = { ...order.confirmed(), occurredAt: '2026-03-02T11:00:00.000Z' };
    await publish(placed);
    await waitUntilApplied();
    const token = encodeConsistencyToken({
      orderId: order.orderId,
      version: 2,
      position: confirmed.position,
    });
    const headers = { 'x-consistency-token': token, 'x-consistency-timeout-ms': '5000' };
    const reads = Promise.all([
      get<unknown[]>('/stats/products?currency=GBP', headers),
      get<{ ordersConfirmed: number; revenue: number }[]>(
        '/stats/daily?currency=GBP&from=2026-03-02&to=2026-03-02',
        headers,
      ),
      get<ListPage>('/orders?customerId=customer-token', headers),
      get<unknown[]>(`/orders/${order.orderId}/history`, headers),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await publish(confirmed);
    const [products, daily, list, history] = await reads;
    expect(products.body).toEqual([
      { sku: 'SCONE', currency: 'GBP', unitsSold: 4, revenue: 1000, orders: 1 },
    ]);
    expect(daily.body).toEqual([
      {
        date: '2026-03-02',
        ordersPlaced: 1,
        ordersConfirmed: 1,
        ordersCancelled: 0,
        revenue: 1000,
      },
    ]);
    expect(list.body.items).toMatchObject([
      { orderId: order.orderId, status: 'confirmed', version: 2 },
    ]);
    expect(history.body).toHaveLength(2);

    const unreachable = encodeConsistencyToken({
      orderId: order.orderId,
      version: 9,
      position: '1',
    });
    for (const path of [
      '/stats/products',
      '/stats/daily?currency=GBP&from=2026-03-02&to=2026-03-02',
      '/orders',
    ]) {
      const answer = await get(path, {
        'x-consistency-token': unreachable,
        'x-consistency-timeout-ms': '200',
      });
      expectProblem(answer, 503, 'CONSISTENCY_TIMEOUT');
      expect(answer.headers.get('retry-after')).toBe('1');
    }
  });

  it('refuses invalid parameters with 400 problem+json and never reads them as operators', async () => {
    const orderId = [...eventsByOrder(published).keys()][0]!;
    const invalid = [
      '/orders?limit=0',
      '/orders?limit=101',
      '/orders?limit=ten',
      '/orders?status=lost',
      '/orders?status=paid&status=draft',
      '/orders?customerId[$gt]=',
      `/orders?customerId=${encodeURIComponent('{"$gt":""}')}`,
      '/orders?placedFrom=yesterday',
      '/orders?placedFrom=2026-03-05&placedTo=2026-03-01',
      '/orders?cursor=bogus',
      '/orders?sort=placedAt',
      '/stats/products?sortBy=orders',
      '/stats/products?currency=eur',
      '/stats/products?limit=1000',
      '/stats/daily?currency=EUR&from=2026-03-01',
      '/stats/daily?currency=EUR&from=2026-02-30&to=2026-03-01',
      '/stats/daily?currency=EUR&from=2026-03-02&to=2026-03-01',
      '/stats/daily?currency=EUR&from=2025-01-01&to=2026-01-02',
      '/stats/daily?from=2026-03-01&to=2026-03-02',
      `/orders/${orderId}?atVersion=0`,
      `/orders/${orderId}?atVersion=1&asOf=2026-03-01T00:00:00Z`,
      `/orders/${orderId}?asOf=2026-03-01`,
      `/orders/${orderId}/history?x=1`,
      '/orders/not-a-uuid/history',
    ];
    for (const path of invalid) {
      const answer = await get(path);
      expect({ path, status: answer.status }).toEqual({ path, status: 400 });
      expectProblem(answer, 400, 'VALIDATION_FAILED');
    }
    const otherFilters = await get<ListPage>('/orders?status=paid&limit=1');
    expectProblem(
      await get(`/orders?status=shipped&cursor=${otherFilters.body.nextCursor}`),
      400,
      'VALIDATION_FAILED',
    );
  });
});
