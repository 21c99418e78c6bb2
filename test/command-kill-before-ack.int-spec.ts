import {
  commandPatterns,
  IDEMPOTENT_REPLAYED_HEADER,
  ORDERS_COMMANDS_QUEUE,
} from '@orders/contracts';
import { Client } from 'pg';
import { CommandClient } from './support/command-client';
import { ConnectionCuttingProxy } from './support/connection-cutting-proxy';
import { databaseUrl, dropDatabase } from './support/postgres';
import { amqpUrl as brokerUrl, createVhost, deleteVhost, queueCounts } from './support/rabbitmq';
import { startService, waitUntilReady, type ServiceProcess } from './support/service-process';
import { uniqueName } from './support/test-names';
import { waitFor } from './support/wait-for';

/*
 * A command message delivered again after the command service was SIGKILLed between writing
 * its events and acknowledging the message. A proxy between the service and RabbitMQ holds back
 * everything the service sends, its reply and its ack with it, so the kill always falls in that
 * window. The message carries no idempotency key, and `order.place` no order id: run again, it
 * would place a second order. Its message id keys it instead, so the second delivery answers
 * with the order the first one placed and writes nothing.
 */

jest.setTimeout(90_000);

let database: string;
let vhost: string;
let amqpUrl: string;
let proxy: ConnectionCuttingProxy;
let client: CommandClient;
let db: Client;
let service: ServiceProcess | undefined;

beforeAll(async () => {
  database = uniqueName('orders_cmd_kill');
  vhost = uniqueName('orders_cmd_kill');
  amqpUrl = await createVhost(vhost);
  proxy = await ConnectionCuttingProxy.start({ host: '127.0.0.1', port: 5672 });
  client = await CommandClient.open(amqpUrl);
});

afterAll(async () => {
  await service?.stop('SIGKILL');
  await client?.close();
  await db?.end();
  await proxy?.close();
  if (vhost) await deleteVhost(vhost);
  if (database) await dropDatabase(database);
});

/** The command service alone (no relay), talking to RabbitMQ through the proxy. */
function startCommandService(): Promise<ServiceProcess> {
  return startService('command', {
    DATABASE_URL: databaseUrl(database),
    RABBITMQ_URL: brokerUrl(vhost, proxy.port),
    RELAY_ENABLED: 'false',
  });
}

it('places one order, not two, when order.place without a key comes again after a kill between its write and its ack', async () => {
  service = await startCommandService();
  await waitUntilReady(service);
  db = new Client({ connectionString: databaseUrl(database) });
  await db.connect();
  const stored = async () =>
    (
      await db.query<{ order_id: string; version: number }>(
        'SELECT order_id, version FROM order_events ORDER BY position',
      )
    ).rows;

  proxy.holdingSent = true;
  const answered = client.send(commandPatterns.place, {
    body: {
      customerId: 'c-kill',
      currency: 'EUR',
      items: [{ sku: 'MUG', quantity: 1, unitPrice: 800 }],
    },
  });
  await waitFor('the order to be written', async () =>
    (await stored()).length > 0 ? true : undefined,
  );
  // Written, and neither its reply nor its ack got out.
  await waitFor(
    'the broker to count the command delivered and unacknowledged',
    async () => (await queueCounts(vhost, ORDERS_COMMANDS_QUEUE)).unacknowledged === 1,
    { timeoutMs: 20_000, intervalMs: 250 },
  );

  await service.stop('SIGKILL');
  proxy.holdingSent = false;
  service = await startCommandService();

  const reply = await answered;
  const [written] = await stored();
  expect(reply.body).toEqual({
    ok: true,
    result: { orderId: written!.order_id, version: 1, consistencyToken: expect.any(String) },
  });
  expect(reply.message.properties.headers?.[IDEMPOTENT_REPLAYED_HEADER]).toBe('true');
  expect(await stored()).toEqual([written]);
});
