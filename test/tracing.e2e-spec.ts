import { ORDERS_COMMANDS_QUEUE } from '@orders/contracts';
import { connect } from 'amqplib';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from './support/mongo-test-database';
import { OtlpTraceReceiver, SpanKind, type ReceivedSpan } from './support/otlp-trace-receiver';
import { databaseUrl, dropDatabase } from './support/postgres';
import { createVhost, deleteVhost } from './support/rabbitmq';
import { startService, type ServiceProcess } from './support/service-process';
import { uniqueName } from './support/test-names';
import { waitFor } from './support/wait-for';

/**
 * One command, one trace: both services started from their built main modules with tracing
 * pointed at an OTLP/HTTP receiver of this test.
 */
describe('OpenTelemetry tracing', () => {
  const database = uniqueName('orders_tracing');
  const vhost = uniqueName('orders_tracing');
  const receiver = new OtlpTraceReceiver();
  let readStore: TestDatabase;
  let amqpUrl: string;
  let command: ServiceProcess;
  let query: ServiceProcess;

  beforeAll(async () => {
    await receiver.start();
    amqpUrl = await createVhost(vhost);
    readStore = await createTestDatabase('orders_tracing');
    // The query service exports only when it stops: its spans arriving proves the SIGTERM flush.
    query = await startService('query', {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '60000',
      MONGODB_URL: readStore.url,
      RABBITMQ_URL: amqpUrl,
    });
    command = await startService('command', {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      LOG_LEVEL: 'info',
      DATABASE_URL: databaseUrl(database),
      RABBITMQ_URL: amqpUrl,
    });
  });

  afterAll(async () => {
    await Promise.all([command?.stop(), query?.stop()]);
    await receiver.stop();
    await readStore?.drop();
    await deleteVhost(vhost);
    await dropDatabase(database);
  });

  it('follows a command from the HTTP request through the relay and RabbitMQ to the projection write', async () => {
    // The caller's own trace context: every span of the command must join its trace.
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const response = await fetch(`${command.url}/orders`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        traceparent: `00-${traceId}-${callerSpanId}-01`,
      },
      body: JSON.stringify({
        customerId: 'cust-trace',
        currency: 'EUR',
        items: [{ sku: 'BOOK-1', quantity: 1, unitPrice: 1250 }],
      }),
    });
    expect(response.status).toBe(201);
    const placed = (await response.json()) as { orderId: string; consistencyToken: string };
    const view = await fetch(`${query.url}/orders/${placed.orderId}`, {
      headers: { 'x-consistency-token': placed.consistencyToken },
    });
    expect(view.status).toBe(200);
    await waitFor(
      "the relay's publish span",
      () => receiver.trace(traceId).some((span) => span.kind === SpanKind.PRODUCER),
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    await query.stop('SIGTERM');

    const spans = await waitFor(
      'the projection write span of the trace',
      () => {
        const trace = receiver.trace(traceId);
        return trace.some((span) => span.name === 'project OrderPlaced') ? trace : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 50 },
    ).catch((error: unknown) => {
      // Say where the trace broke: what it holds, and what the query service sent outside it.
      const names = (list: ReceivedSpan[]) => list.map((s) => `${s.service}: ${s.name}`);
      const others = receiver.spans.filter((s) => s.traceId !== traceId);
      throw new Error(
        `${(error as Error).message}\ntrace ${traceId}: ${JSON.stringify(names(receiver.trace(traceId)))}` +
          `\nother traces: ${JSON.stringify(names(others))}`,
      );
    });
    expect(receiver.problems).toEqual([]);
    const one = (description: string, match: (span: ReceivedSpan) => boolean) => {
      const found = spans.filter(match);
      expect({ description, count: found.length }).toEqual({ description, count: 1 });
      return found[0]!;
    };
    const byId = new Map(spans.map((span) => [span.spanId, span]));
    const ancestorsOf = (span: ReceivedSpan) => {
      const chain: ReceivedSpan[] = [];
      for (let p = byId.get(span.parentSpanId); p; p = byId.get(p.parentSpanId)) chain.push(p);
      return chain;
    };

    const server = one('HTTP server span', (s) => s.kind === SpanKind.SERVER);
    expect(server).toMatchObject({
      service: 'command-service',
      name: 'POST /orders',
      parentSpanId: callerSpanId,
    });
    const handle = one('command span', (s) => s.name === 'handle PlaceOrder');
    expect(handle.service).toBe('command-service');
    expect(handle.attributes['orders.order_id']).toBe(placed.orderId);
    expect(handle.parentSpanId).toBe(server.spanId);
    // Its log line says which trace and span it belongs to.
    const accessLine = command
      .output()
      .split('\n')
      .filter((line) => line.includes('"msg":"request completed"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.url === '/orders' && line.method === 'POST');
    expect(accessLine).toMatchObject({ trace_id: traceId, span_id: server.spanId });
    // The event append's SQL runs inside the command span (pg instrumentation).
    const inserts = spans.filter(
      (s) =>
        s.kind === SpanKind.CLIENT &&
        /INSERT INTO order_events/.test(
          String(s.attributes['db.query.text'] ?? s.attributes['db.statement']),
        ),
    );
    expect(inserts.map((s) => ancestorsOf(s).includes(handle))).toEqual([true]);

    const sql = new Client({ connectionString: databaseUrl(database) });
    await sql.connect();
    const stored = await sql
      .query<{ event_id: string; traceparent: string }>(
        'SELECT event_id::text, traceparent FROM order_events WHERE order_id = $1',
        [placed.orderId],
      )
      .finally(() => sql.end());
    expect(stored.rows).toEqual([
      { event_id: expect.any(String), traceparent: `00-${traceId}-${handle.spanId}-01` },
    ]);

    const publish = one('relay PRODUCER span', (s) => s.kind === SpanKind.PRODUCER);
    expect(publish).toMatchObject({
      service: 'command-service',
      name: 'publish orders.events',
      parentSpanId: handle.spanId,
      attributes: expect.objectContaining({
        'messaging.system': 'rabbitmq',
        'messaging.destination.name': 'orders.events',
        'messaging.rabbitmq.destination.routing_key': 'order.placed',
        'messaging.message.id': stored.rows[0]!.event_id,
      }),
    });

    const consume = one('query CONSUMER span', (s) => s.kind === SpanKind.CONSUMER);
    expect(consume).toMatchObject({
      service: 'query-service',
      name: 'process orders.events',
      parentSpanId: publish.spanId,
      attributes: expect.objectContaining({
        'messaging.system': 'rabbitmq',
        'messaging.destination.name': 'orders.events',
        'messaging.destination.subscription.name': 'orders.query-service',
        'messaging.message.id': stored.rows[0]!.event_id,
      }),
    });
    const project = one('projection write span', (s) => s.name === 'project OrderPlaced');
    expect(project).toMatchObject({
      service: 'query-service',
      parentSpanId: consume.spanId,
      attributes: expect.objectContaining({ 'orders.projection.outcome': 'applied' }),
    });
    // The MongoDB writes themselves, under the projection span (mongodb instrumentation).
    const mongoWrites = spans.filter(
      (s) =>
        s.service === 'query-service' &&
        s.kind === SpanKind.CLIENT &&
        ancestorsOf(s).includes(project),
    );
    expect(mongoWrites.length).toBeGreaterThan(0);
  });

  it('continues the trace of a command sent over RabbitMQ', async () => {
    const traceId = randomBytes(16).toString('hex');
    const senderSpanId = randomBytes(8).toString('hex');
    const connection = await connect(amqpUrl);
    try {
      const channel = await connection.createChannel();
      const replyTo = 'amq.rabbitmq.reply-to';
      const reply = new Promise<{ ok: boolean }>((resolve) => {
        void channel.consume(
          replyTo,
          (message) =>
            message && resolve(JSON.parse(message.content.toString()) as { ok: boolean }),
          { noAck: true },
        );
      });
      channel.sendToQueue(
        ORDERS_COMMANDS_QUEUE,
        Buffer.from(
          JSON.stringify({ body: { customerId: 'cust-amqp', currency: 'EUR', items: [] } }),
        ),
        {
          type: 'order.place',
          contentType: 'application/json',
          replyTo,
          correlationId: randomBytes(8).toString('hex'),
          headers: { traceparent: `00-${traceId}-${senderSpanId}-01` },
        },
      );
      expect(await reply).toMatchObject({ ok: true });
    } finally {
      await connection.close();
    }
    const handle = await waitFor(
      'the command span of the message',
      () => receiver.trace(traceId).find((span) => span.name === 'handle PlaceOrder'),
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    expect(handle).toMatchObject({ service: 'command-service', parentSpanId: senderSpanId });
  });

  it('loads nothing of OpenTelemetry but the API when OTEL_EXPORTER_OTLP_ENDPOINT is unset', () => {
    const root = join(__dirname, '..');
    // Each service's whole module graph (the command service's main does not start it when
    // required; the query service's main would, so its tracing and application modules instead).
    const graphs = {
      'command-service': ['main.js'],
      'query-service': ['tracing.js', 'bootstrap-query-service.js'],
    };
    const loaded = (entries: string[], env: Record<string, string>) =>
      JSON.parse(
        execFileSync(
          process.execPath,
          [
            '-e',
            entries.map((entry) => `require(${JSON.stringify(entry)});`).join('') +
              'console.log(JSON.stringify(Object.keys(require.cache)' +
              '.map((f) => /node_modules\\/(@opentelemetry\\/[^/]+)/.exec(f)?.[1]).filter(Boolean)));' +
              'process.exit(0)',
          ],
          { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' },
        ),
      ) as string[];
    for (const [service, files] of Object.entries(graphs)) {
      const entries = files.map((file) =>
        join(root, `dist/apps/${service}/apps/${service}/src/${file}`),
      );
      expect({ service, loaded: new Set(loaded(entries, {})) }).toEqual({
        service,
        loaded: new Set(['@opentelemetry/api']),
      });
      // The same probe sees the SDK when tracing is on, so the answer above means something.
      expect(loaded(entries, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint })).toContain(
        '@opentelemetry/sdk-trace-base',
      );
    }
  });
});
