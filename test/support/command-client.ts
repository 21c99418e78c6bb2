import {
  ORDERS_COMMANDS_QUEUE,
  PAYMENT_SUCCEEDED_ROUTING_KEY,
  PAYMENTS_EVENTS_EXCHANGE,
  type OrderCommandReply,
} from '@orders/contracts';
import {
  connect,
  type ChannelModel,
  type ConfirmChannel,
  type ConsumeMessage,
  type Options,
} from 'amqplib';
import { randomUUID } from 'node:crypto';

const REPLY_TO = 'amq.rabbitmq.reply-to';

export interface Reply {
  body: OrderCommandReply;
  message: ConsumeMessage;
}

/** Sends command messages to `orders.commands` and matches replies by correlation id. */
export class CommandClient {
  private readonly waiting = new Map<string, (reply: Reply) => void>();

  private constructor(
    private readonly connection: ChannelModel,
    readonly channel: ConfirmChannel,
  ) {}

  static async open(url: string): Promise<CommandClient> {
    const connection = await connect(url);
    const channel = await connection.createConfirmChannel();
    const client = new CommandClient(connection, channel);
    await channel.consume(
      REPLY_TO,
      (message) => {
        if (!message) return;
        const resolve = client.waiting.get(String(message.properties.correlationId));
        resolve?.({ body: JSON.parse(message.content.toString()) as OrderCommandReply, message });
      },
      { noAck: true },
    );
    return client;
  }

  /** One command: the message body, and AMQP properties on top of the usual ones. */
  send(pattern: string, message: unknown, properties: Options.Publish = {}): Promise<Reply> {
    return this.request(Buffer.from(JSON.stringify(message)), {
      type: pattern,
      contentType: 'application/json',
      ...properties,
    });
  }

  async request(content: Buffer, properties: Options.Publish): Promise<Reply> {
    const correlationId = randomUUID();
    const replied = new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(correlationId);
        reject(new Error(`no reply to ${String(properties.type)} within 20 s`));
      }, 20_000);
      this.waiting.set(correlationId, (reply) => {
        clearTimeout(timer);
        this.waiting.delete(correlationId);
        resolve(reply);
      });
    });
    this.channel.sendToQueue(ORDERS_COMMANDS_QUEUE, content, {
      persistent: true,
      messageId: randomUUID(),
      replyTo: REPLY_TO,
      correlationId,
      ...properties,
    });
    await this.channel.waitForConfirms();
    return replied;
  }

  /** Fire and forget, as a client that expects no reply would publish. */
  async publishWithoutReplyTo(content: Buffer, properties: Options.Publish): Promise<void> {
    this.channel.sendToQueue(ORDERS_COMMANDS_QUEUE, content, { persistent: true, ...properties });
    await this.channel.waitForConfirms();
  }

  async publishPayment(payment: unknown, messageId = randomUUID()): Promise<void> {
    this.channel.publish(
      PAYMENTS_EVENTS_EXCHANGE,
      PAYMENT_SUCCEEDED_ROUTING_KEY,
      Buffer.from(JSON.stringify(payment)),
      { persistent: true, contentType: 'application/json', messageId },
    );
    await this.channel.waitForConfirms();
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}
