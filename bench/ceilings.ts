import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { connect } from 'amqplib';
import { MongoClient } from 'mongodb';
import { Client } from 'pg';
import { ORDER_ID_HEADER } from '../libs/contracts/src/events/routing';
import { BACKLOG_EVENT_DATA } from '../test/support/event-backlog';
import { countCpu } from './cpu';
import { HttpClient } from './http-client';
import { closedLoop } from './stats';

const PAYLOAD = 'x'.repeat(500);

/** Single-row inserts, one per transaction, fsync on: what one durable write costs here. */
export async function postgresInsertTps(url: string, clients: number, durationMs: number) {
  const setup = new Client({ connectionString: url });
  await setup.connect();
  await setup.query('DROP TABLE IF EXISTS bench_ceiling_rows');
  await setup.query('CREATE TABLE bench_ceiling_rows (id bigserial PRIMARY KEY, payload text)');
  const connections = await Promise.all(
    Array.from({ length: clients }, async () => {
      const client = new Client({ connectionString: url });
      await client.connect();
      return client;
    }),
  );
  const started = performance.now();
  const done = await closedLoop(clients, durationMs, async (worker) => {
    await connections[worker]!.query('INSERT INTO bench_ceiling_rows (payload) VALUES ($1)', [
      PAYLOAD,
    ]);
  });
  const rate = done / ((performance.now() - started) / 1000);
  await Promise.all(connections.map((c) => c.end()));
  await setup.query('DROP TABLE bench_ceiling_rows');
  await setup.end();
  return rate;
}

/** Persistent 500-byte messages into a quorum queue with confirms in windows of 500, then
 * consumed with prefetch 1000 and one ack per message. */
export async function rabbitPublishAndConsume(url: string, messages: number) {
  const connection = await connect(url);
  const queue = `bench.ceiling.${process.pid}`;
  const channel = await connection.createConfirmChannel();
  await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  const body = Buffer.from(PAYLOAD);
  let started = performance.now();
  const cpu = countCpu();
  for (let sent = 0; sent < messages; sent += 500) {
    for (let i = 0; i < 500; i++) channel.publish('', queue, body, { persistent: true });
    await channel.waitForConfirms();
  }
  const publishRate = messages / ((performance.now() - started) / 1000);
  const publishCpu = cpu();

  const consumer = await connection.createChannel();
  await consumer.prefetch(1000);
  started = performance.now();
  await new Promise<void>((resolve) => {
    let received = 0;
    void consumer.consume(queue, (message) => {
      if (!message) return;
      consumer.ack(message);
      if (++received === messages) resolve();
    });
  });
  const consumeRate = messages / ((performance.now() - started) / 1000);
  await consumer.close();
  await channel.deleteQueue(queue);
  await connection.close();
  return { publishRate, consumeRate, publishCpu };
}

/**
 * The same publish, but of messages shaped as the relay's are: an OrderPlaced envelope through
 * a topic exchange with `mandatory`, the contract's properties and the order-id header (the
 * backlog's events carry no traceparent, so the relay sends none either). The gap between the
 * two ceilings is what the message shape costs the broker; the gap between this one and the
 * relay is what the relay costs.
 */
export async function rabbitEventShapedPublish(url: string, messages: number) {
  const connection = await connect(url);
  const exchange = `bench.ceiling.events.${process.pid}`;
  const queue = `bench.ceiling.events.${process.pid}`;
  const channel = await connection.createConfirmChannel();
  await channel.assertExchange(exchange, 'topic', { durable: true });
  await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await channel.bindQueue(queue, exchange, 'order.#');
  const started = performance.now();
  const cpu = countCpu();
  for (let sent = 0; sent < messages; sent += 500) {
    for (let i = 0; i < 500; i++) {
      const eventId = randomUUID();
      const orderId = randomUUID();
      const envelope = {
        eventId,
        type: 'OrderPlaced',
        schemaVersion: 2,
        orderId,
        version: 1,
        position: String(1_000_000_000 + sent + i),
        occurredAt: new Date().toISOString(),
        correlationId: 'backlog',
        causationId: 'backlog',
        data: BACKLOG_EVENT_DATA,
      };
      channel.publish(exchange, 'order.placed', Buffer.from(JSON.stringify(envelope)), {
        persistent: true,
        mandatory: true,
        contentType: 'application/json',
        messageId: eventId,
        type: 'OrderPlaced',
        correlationId: 'backlog',
        timestamp: Math.floor(Date.now() / 1000),
        headers: { [ORDER_ID_HEADER]: orderId },
      });
    }
    await channel.waitForConfirms();
  }
  const publishRate = messages / ((performance.now() - started) / 1000);
  const publishCpu = cpu();
  await channel.deleteQueue(queue);
  await channel.deleteExchange(exchange);
  await connection.close();
  return { publishRate, publishCpu };
}

/** Upserts of ~500-byte documents by _id in unordered bulks of 500. */
export async function mongoBulkUpsertRate(url: string, documents: number) {
  const client = new MongoClient(url);
  await client.connect();
  const collection = client.db().collection<{ _id: string }>('bench_ceiling');
  const started = performance.now();
  for (let offset = 0; offset < documents; offset += 500) {
    await collection.bulkWrite(
      Array.from({ length: 500 }, (_, i) => ({
        updateOne: {
          filter: { _id: `doc-${offset + i}` },
          update: { $set: { payload: PAYLOAD, version: 1 } },
          upsert: true,
        },
      })),
      { ordered: false },
    );
  }
  const rate = documents / ((performance.now() - started) / 1000);
  await collection.drop();
  await client.close();
  return rate;
}

/**
 * Reads of one ~500-byte document by _id from a collection of `documents`, `clients` at a
 * time: the read store's own rate for what `GET /orders/{id}` asks of it.
 */
export async function mongoPointReadRate(
  url: string,
  documents: number,
  clients: number,
  durationMs: number,
) {
  const client = new MongoClient(url);
  await client.connect();
  const collection = client.db().collection<{ _id: string }>('bench_ceiling_reads');
  for (let offset = 0; offset < documents; offset += 500) {
    await collection.insertMany(
      Array.from({ length: Math.min(500, documents - offset) }, (_, i) => ({
        _id: `doc-${offset + i}`,
        payload: PAYLOAD,
        version: 1,
      })),
    );
  }
  const started = performance.now();
  const done = await closedLoop(clients, durationMs, async () => {
    await collection.findOne({ _id: `doc-${Math.floor(Math.random() * documents)}` });
  });
  const rate = done / ((performance.now() - started) / 1000);
  await collection.drop();
  await client.close();
  return rate;
}

const HELLO_WORLD = `
  const server = require('node:http').createServer((_, response) => {
    response.setHeader('content-type', 'application/json');
    response.end('{"hello":"world"}');
  });
  server.listen(0, '127.0.0.1', () => console.log(server.address().port));`;

/** A bare Node HTTP hello world in its own process, under the same client as the services. */
export async function bareHttpRate(connections: number, durationMs: number) {
  const server = spawn(process.execPath, ['-e', HELLO_WORLD], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve) =>
    server.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())),
  );
  const http = new HttpClient(`http://127.0.0.1:${port}`, connections);
  const started = performance.now();
  const done = await closedLoop(connections, durationMs, async () => {
    await http.request('GET', '/');
  });
  const rate = done / ((performance.now() - started) / 1000);
  await http.close();
  server.kill();
  return rate;
}
