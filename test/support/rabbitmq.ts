import { connect, type ChannelModel, type ConsumeMessage } from 'amqplib';

const MANAGEMENT_URL = process.env.TEST_RABBITMQ_MANAGEMENT_URL ?? 'http://127.0.0.1:15672';
const USER = process.env.TEST_RABBITMQ_USER ?? 'guest';
const PASSWORD = process.env.TEST_RABBITMQ_PASSWORD ?? 'guest';
const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

async function management(method: string, path: string, body?: unknown): Promise<Response> {
  const response = await fetch(`${MANAGEMENT_URL}/api${path}`, {
    method,
    headers: { authorization: AUTH, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok && response.status !== 404) {
    throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  }
  return response;
}

/** Creates a vhost of its own for one test file and returns its AMQP URL. */
export async function createVhost(name: string): Promise<string> {
  await management('PUT', `/vhosts/${encodeURIComponent(name)}`, {});
  await management('PUT', `/permissions/${encodeURIComponent(name)}/${USER}`, {
    configure: '.*',
    write: '.*',
    read: '.*',
  });
  return amqpUrl(name);
}

/** The AMQP URL of `vhost`, on the broker's port or on another one (a proxy in front of it). */
export function amqpUrl(vhost: string, port = 5672): string {
  return `amqp://${USER}:${PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(vhost)}`;
}

export async function deleteVhost(name: string): Promise<void> {
  await management('DELETE', `/vhosts/${encodeURIComponent(name)}`);
}

interface QueueInfo {
  messages?: number;
  messages_ready?: number;
  messages_unacknowledged?: number;
}

/** A queue's counts as the management API last sampled them (every few seconds). */
async function queueInfo(vhost: string, queue: string): Promise<QueueInfo> {
  const response = await management(
    'GET',
    `/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(queue)}`,
  );
  return response.status === 404 ? {} : ((await response.json()) as QueueInfo);
}

export async function queueDepth(vhost: string, queue: string): Promise<number> {
  return (await queueInfo(vhost, queue)).messages ?? 0;
}

/** A queue's messages waiting for a consumer and those delivered but not yet acknowledged. */
export async function queueCounts(
  vhost: string,
  queue: string,
): Promise<{ ready: number; unacknowledged: number }> {
  const info = await queueInfo(vhost, queue);
  return { ready: info.messages_ready ?? 0, unacknowledged: info.messages_unacknowledged ?? 0 };
}

export async function deleteQueue(vhost: string, queue: string): Promise<void> {
  await management('DELETE', `/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(queue)}`);
}

export async function purgeQueue(vhost: string, queue: string): Promise<void> {
  await management(
    'DELETE',
    `/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(queue)}/contents`,
  );
}

/** Records every message an exchange routes with `bindingKey`, in arrival order. */
export class ExchangeObserver {
  readonly messages: ConsumeMessage[] = [];

  private constructor(private readonly connection: ChannelModel) {}

  static async start(url: string, exchange: string, bindingKey = '#'): Promise<ExchangeObserver> {
    const connection = await connect(url);
    const channel = await connection.createChannel();
    await channel.assertExchange(exchange, 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, exchange, bindingKey);
    await channel.prefetch(1000);
    const observer = new ExchangeObserver(connection);
    await channel.consume(queue, (message) => {
      if (!message) return;
      observer.messages.push(message);
      channel.ack(message);
    });
    return observer;
  }

  bodies<T = Record<string, unknown>>(): T[] {
    return this.messages.map((m) => JSON.parse(m.content.toString()) as T);
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}
