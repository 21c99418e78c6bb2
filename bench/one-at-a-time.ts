import { connect } from 'amqplib';
import { randomUUID } from 'node:crypto';
import type { HttpClient } from './http-client';
import { Latencies, sleep } from './stats';

const COMMANDS = 200;
const PAUSE_MS = 10;
const REPLY_TO = 'amq.rabbitmq.reply-to';

function placeOrderBody() {
  return {
    customerId: `single-${randomUUID()}`,
    currency: 'EUR',
    items: [{ sku: 'SKU-1', quantity: 1, unitPrice: 1000 }],
  };
}

/**
 * A command alone, as a client that is not under load sees it: `order.place` one at a time,
 * with a pause between, over HTTP and over RabbitMQ request/reply (direct reply-to, as a
 * client service in any language would send it). The messages carry a message id, so the
 * service records each answer under it (what makes a redelivered command run once).
 */
export async function oneCommandAtATime(commands: HttpClient, amqpUrl: string) {
  const http = new Latencies();
  for (let i = 0; i < COMMANDS; i++) {
    const started = performance.now();
    const { status } = await commands.request('POST', '/orders', placeOrderBody());
    if (status !== 201) throw new Error(`POST /orders answered ${status}`);
    http.record(performance.now() - started);
    await sleep(PAUSE_MS);
  }

  const connection = await connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    let replied: ((ok: boolean) => void) | null = null;
    await channel.consume(
      REPLY_TO,
      (message) => {
        if (!message) return;
        const reply = JSON.parse(message.content.toString()) as { ok?: boolean };
        replied?.(reply.ok === true);
      },
      { noAck: true },
    );
    const amqp = new Latencies();
    for (let i = 0; i < COMMANDS; i++) {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const answered = new Promise<boolean>((resolve, reject) => {
        replied = resolve;
        timer = setTimeout(
          () => reject(new Error('order.place over RabbitMQ: no reply in 10 s')),
          10_000,
        );
      });
      channel.sendToQueue(
        'orders.commands',
        Buffer.from(JSON.stringify({ body: placeOrderBody() })),
        {
          type: 'order.place',
          messageId: randomUUID(),
          replyTo: REPLY_TO,
          correlationId: randomUUID(),
          contentType: 'application/json',
        },
      );
      const ok = await answered.finally(() => clearTimeout(timer));
      if (!ok) throw new Error('order.place over RabbitMQ was refused');
      amqp.record(performance.now() - started);
      await sleep(PAUSE_MS);
    }
    return {
      singleHttpP50: http.percentile(50),
      singleHttpP99: http.percentile(99),
      singleAmqpP50: amqp.percentile(50),
      singleAmqpP99: amqp.percentile(99),
    };
  } finally {
    await connection.close();
  }
}
