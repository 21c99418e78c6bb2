import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from './support/mongo-test-database';
import { metricSum } from './support/metrics';
import { databaseUrl, dropDatabase } from './support/postgres';
import { createVhost, deleteVhost } from './support/rabbitmq';
import { startService, type ServiceProcess } from './support/service-process';
import { uniqueName } from './support/test-names';
import { waitFor } from './support/wait-for';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/** Contract §3 and §5: every route the two APIs must document. */
const COMMAND_ROUTES = [
  'POST /orders',
  'POST /orders/{id}/items',
  'DELETE /orders/{id}/items/{sku}',
  'POST /orders/{id}/confirm',
  'POST /orders/{id}/pay',
  'POST /orders/{id}/ship',
  'POST /orders/{id}/cancel',
  'GET /events',
];
const QUERY_ROUTES = [
  'GET /orders/{id}',
  'GET /orders/{id}/history',
  'GET /orders',
  'GET /stats/products',
  'GET /stats/daily',
];

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseMetrics(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a Prometheus sample: ${line}`);
      const labels = Object.fromEntries(
        [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
      );
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

async function scrape(url: string): Promise<{ text: string; samples: Sample[] }> {
  const response = await fetch(`${url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  const text = await response.text();
  return { text, samples: parseMetrics(text) };
}

function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}) {
  return samples.find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;
}

/** Routes Nest mapped at start, from its own log lines: `Mapped {/orders/:id, GET} route`. */
function mappedRoutes(output: string): string[] {
  return [...output.matchAll(/Mapped \{([^,]+), (\w+)\} route/g)].map(
    ([, path, method]) => `${method} ${path!.replace(/:(\w+)/g, '{$1}')}`,
  );
}

function jsonLines(output: string): Record<string, unknown>[] {
  const lines = output.split('\n');
  // ServiceProcess keeps the last 20,000 characters: the first line may be cut.
  if (output.length >= 20_000) lines.shift();
  return lines
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`a log line is not JSON: ${line}`);
      }
    });
}

describe('observability: metrics, JSON logs, request ids, OpenAPI (contract §8)', () => {
  const database = uniqueName('orders_observability');
  const vhost = uniqueName('orders_observability');
  let readStore: TestDatabase;
  let command: ServiceProcess;
  let query: ServiceProcess;
  let startupOutput: { command: string; query: string };

  beforeAll(async () => {
    const amqpUrl = await createVhost(vhost);
    readStore = await createTestDatabase('orders_observability');
    // The query service declares the queue the relay's events are routed to.
    query = await startService('query', {
      MONGODB_URL: readStore.url,
      RABBITMQ_URL: amqpUrl,
      LOG_LEVEL: 'info',
    });
    command = await startService('command', {
      DATABASE_URL: databaseUrl(database),
      RABBITMQ_URL: amqpUrl,
      LOG_LEVEL: 'info',
    });
    startupOutput = { command: command.output(), query: query.output() };
  });

  afterAll(async () => {
    await command?.stop();
    await query?.stop();
    await readStore?.drop();
    await deleteVhost(vhost);
    await dropDatabase(database);
  });

  async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
    return fetch(`${command.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  it('labels request rate and latency by route template, never by raw URL', async () => {
    const placed = await post('/orders', { customerId: 'c-1', currency: 'EUR' });
    expect(placed.status).toBe(201);
    const { orderId } = (await placed.json()) as { orderId: string };
    const line = { sku: 'sku-1', quantity: 2, unitPrice: 500 };
    expect((await post(`/orders/${orderId}/items`, line)).status).toBe(200);
    expect((await post(`/orders/${orderId}/items`, 'x'.repeat(70 * 1024))).status).toBe(413);
    expect((await fetch(`${command.url}/no-such-route/${randomUUID()}`)).status).toBe(404);
    expect((await fetch(`${query.url}/orders/${randomUUID()}`)).status).toBe(404);

    const { text, samples } = await scrape(command.url);
    const requests = (labels: Record<string, string>) =>
      valueOf(samples, 'http_requests_total', labels);
    expect(requests({ method: 'POST', route: '/orders', status: '201' })).toBe(1);
    expect(requests({ method: 'POST', route: '/orders/:id/items', status: '200' })).toBe(1);
    // Refused before routing, still counted under its route.
    expect(requests({ method: 'POST', route: '/orders/:id/items', status: '413' })).toBe(1);
    expect(requests({ method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    expect(
      valueOf(samples, 'http_request_duration_seconds_count', {
        method: 'POST',
        route: '/orders/:id/items',
        status: '200',
      }),
    ).toBe(1);
    const httpLines = text.split('\n').filter((l) => l.startsWith('http_'));
    expect(httpLines.filter((l) => UUID.test(l) || l.includes('no-such-route'))).toEqual([]);

    const fromQuery = (await scrape(query.url)).samples;
    expect(valueOf(fromQuery, 'http_requests_total', { route: '/orders/:id', status: '404' })).toBe(
      1,
    );
    expect(
      fromQuery.filter((s) => s.name.startsWith('http_') && UUID.test(s.labels.route ?? '')),
    ).toEqual([]);
  });

  it('exposes the outbox backlog, its age, publish and unroutable counts, dead letters', async () => {
    expect((await post('/orders', { customerId: 'c-2', currency: 'EUR' })).status).toBe(201);
    const samples = await waitFor('the relay to publish every event', async () => {
      const scraped = (await scrape(command.url)).samples;
      const published = valueOf(scraped, 'orders_events_published_total') ?? 0;
      const backlog = valueOf(scraped, 'orders_outbox_backlog_events');
      return published >= 3 && backlog === 0 && scraped;
    });
    expect(valueOf(samples, 'orders_outbox_oldest_unpublished_age_seconds')).toBe(0);
    expect(valueOf(samples, 'orders_relay_unroutable_total')).toBe(0);
    expect(valueOf(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);

    const fromQuery = (await scrape(query.url)).samples;
    expect(valueOf(fromQuery, 'orders_dead_letters')).toBe(0);
    expect(valueOf(fromQuery, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('observes how old each event is when the broker confirms it and when it is applied', async () => {
    expect((await post('/orders', { customerId: 'c-age', currency: 'EUR' })).status).toBe(201);
    // Three events before this test's one.
    const published = await waitFor('the relay to publish every event', async () => {
      const scraped = (await scrape(command.url)).samples;
      return (valueOf(scraped, 'orders_events_published_total') ?? 0) >= 4 && scraped;
    });
    const publishedCount = valueOf(published, 'orders_events_published_total');
    expect(valueOf(published, 'orders_relay_event_age_seconds_count')).toBe(publishedCount);
    expect(valueOf(published, 'orders_relay_event_age_seconds_sum')).toBeGreaterThan(0);
    expect(valueOf(published, 'orders_relay_event_age_seconds_bucket', { le: '10' })).toBe(
      publishedCount,
    );

    const applied = await waitFor('the projection to apply every event', async () => {
      const { text, samples } = await scrape(query.url);
      const count = metricSum(text, 'orders_projection_events_total', 'outcome="applied"');
      return count === publishedCount && samples;
    });
    expect(valueOf(applied, 'orders_projection_event_age_seconds_count')).toBe(publishedCount);
    expect(valueOf(applied, 'orders_projection_event_age_seconds_sum')).toBeGreaterThan(0);
    expect(valueOf(applied, 'orders_projection_event_age_seconds_bucket', { le: '10' })).toBe(
      publishedCount,
    );
  });

  it('echoes X-Request-Id, makes one when absent, and the events carry the same ids', async () => {
    const placed = await post(
      '/orders',
      { customerId: 'c-3', currency: 'EUR' },
      { 'x-request-id': 'obs-request-1', 'x-correlation-id': 'obs-correlation-1' },
    );
    expect(placed.headers.get('x-request-id')).toBe('obs-request-1');
    expect(placed.headers.get('x-correlation-id')).toBe('obs-correlation-1');
    const { orderId } = (await placed.json()) as { orderId: string };

    const anonymous = await fetch(`${command.url}/health/live`);
    expect(anonymous.headers.get('x-request-id')).toMatch(UUID);
    const refused = await fetch(`${query.url}/orders/not-a-uuid`, {
      headers: { 'x-request-id': 'obs-request-2' },
    });
    expect(refused.status).toBe(400);
    expect(refused.headers.get('x-request-id')).toBe('obs-request-2');

    const event = await waitFor('the event in the feed', async () => {
      const feed = (await (await fetch(`${command.url}/events?limit=1000`)).json()) as {
        events: { orderId: string; causationId: string; correlationId: string }[];
      };
      return feed.events.find((e) => e.orderId === orderId);
    });
    expect(event).toMatchObject({
      causationId: 'obs-request-1',
      correlationId: 'obs-correlation-1',
    });
  });

  it('writes only JSON log lines, request lines carrying requestId and correlationId', async () => {
    await post(
      '/orders',
      { customerId: 'c-4', currency: 'EUR' },
      { 'x-request-id': 'obs-request-3', 'x-correlation-id': 'obs-correlation-3' },
    );
    await fetch(`${query.url}/stats/products`, { headers: { 'x-request-id': 'obs-request-4' } });
    const commandLines = await waitFor('the request line of obs-request-3', () => {
      const lines = jsonLines(command.output());
      return lines.some((l) => l.requestId === 'obs-request-3') && lines;
    });
    expect(commandLines.find((l) => l.requestId === 'obs-request-3')).toMatchObject({
      level: 'info',
      service: 'command-service',
      correlationId: 'obs-correlation-3',
      method: 'POST',
      url: '/orders',
      status: 201,
    });
    const queryLines = await waitFor('the request line of obs-request-4', () => {
      const lines = jsonLines(query.output());
      return lines.some((l) => l.requestId === 'obs-request-4') && lines;
    });
    expect(queryLines.find((l) => l.requestId === 'obs-request-4')).toMatchObject({
      service: 'query-service',
      correlationId: 'obs-request-4',
      url: '/stats/products',
    });
    for (const line of [...commandLines, ...queryLines]) {
      expect(line).toEqual(
        expect.objectContaining({ level: expect.any(String), time: expect.any(String) }),
      );
    }
  });

  it.each([
    ['command', COMMAND_ROUTES],
    ['query', QUERY_ROUTES],
  ] as const)('serves a valid OpenAPI document of every %s route', async (kind, contractRoutes) => {
    const service = kind === 'command' ? command : query;
    const response = await fetch(`${service.url}/docs-json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as OpenApiDocument;
    expect(document.openapi).toMatch(/^3\.0\.\d+$/);
    expect(document.info.title).toEqual(expect.any(String));

    const documented = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented).toEqual(expect.arrayContaining(contractRoutes));
    expect(documented).toEqual(expect.arrayContaining(mappedRoutes(startupOutput[kind])));

    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    for (const [route, operation] of operationsOf(document)) {
      expect([route, Object.keys(operation.responses).length > 0]).toEqual([route, true]);
      for (const schema of schemasOf(operation)) {
        if (typeof schema.$ref === 'string') {
          expect([route, resolve(document, schema.$ref)]).toEqual([route, expect.any(Object)]);
        } else {
          expect(() => ajv.compile(schema)).not.toThrow();
        }
      }
      if ((contractRoutes as readonly string[]).includes(route)) {
        expect([route, operation.security]).toEqual([route, [{ bearer: [] }]]);
      }
    }

    if (kind === 'command') {
      for (const route of COMMAND_ROUTES.filter((r) => r !== 'GET /events')) {
        const operation = operationsOf(document).get(route)!;
        for (const status of [
          '400',
          '401',
          '403',
          '404',
          '409',
          '412',
          '413',
          '415',
          '422',
          '429',
        ]) {
          expect([route, status, Object.keys(operation.responses[status]?.content ?? {})]).toEqual([
            route,
            status,
            ['application/problem+json'],
          ]);
        }
      }
      const place = operationsOf(document).get('POST /orders')!;
      expect(place.requestBody?.content['application/json']?.schema).toMatchObject({
        type: 'object',
        required: expect.arrayContaining(['customerId', 'currency']),
        additionalProperties: false,
      });
    }
    const ui = await fetch(`${service.url}/docs`);
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toMatch(/^text\/html/);
  });
});

interface OpenApiOperation {
  parameters?: { schema?: Record<string, unknown> }[];
  requestBody?: { content: Record<string, { schema?: Record<string, unknown> }> };
  responses: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }>;
  security?: unknown;
}

interface OpenApiDocument {
  openapi: string;
  info: { title: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
}

function operationsOf(document: OpenApiDocument): Map<string, OpenApiOperation> {
  return new Map(
    Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => [`${method.toUpperCase()} ${path}`, op] as const),
    ),
  );
}

function schemasOf(operation: OpenApiOperation): Record<string, unknown>[] {
  const contents = [
    ...Object.values(operation.requestBody?.content ?? {}),
    ...Object.values(operation.responses).flatMap((r) => Object.values(r.content ?? {})),
  ];
  return [
    ...(operation.parameters ?? []).map((p) => p.schema),
    ...contents.map((c) => c.schema),
  ].filter((schema): schema is Record<string, unknown> => schema !== undefined);
}

function resolve(document: unknown, ref: string): unknown {
  return ref
    .replace(/^#\//, '')
    .split('/')
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], document);
}
