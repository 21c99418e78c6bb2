import {
  ORDER_ID_HEADER,
  ORDERS_EVENTS_EXCHANGE,
  routingKeyOf,
  type EventEnvelope,
} from '@orders/contracts';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { randomBytes } from 'node:crypto';

/** Publishes to `orders.events` exactly as the outbox relay does, waiting for broker confirms. */
export class OrderEventsPublisher {
  private constructor(
    private readonly connection: ChannelModel,
    readonly channel: ConfirmChannel,
  ) {}

  static async open(amqpUrl: string): Promise<OrderEventsPublisher> {
    const connection = await connect(amqpUrl);
    const channel = await connection.createConfirmChannel();
    return new OrderEventsPublisher(connection, channel);
  }

  async publish(...envelopes: EventEnvelope[]): Promise<void> {
    for (const envelope of envelopes) {
      this.channel.publish(
        ORDERS_EVENTS_EXCHANGE,
        routingKeyOf(envelope.type),
        Buffer.from(JSON.stringify(envelope)),
        {
          persistent: true,
          contentType: 'application/json',
          messageId: envelope.eventId,
          type: envelope.type,
          headers: { traceparent: randomTraceparent(), [ORDER_ID_HEADER]: envelope.orderId },
        },
      );
    }
    await this.channel.waitForConfirms();
  }

  /** For messages no relay would send: arbitrary bytes under an order routing key. */
  async publishRaw(routingKey: string, body: string | Buffer, messageId: string): Promise<void> {
    this.channel.publish(
      ORDERS_EVENTS_EXCHANGE,
      routingKey,
      Buffer.isBuffer(body) ? body : Buffer.from(body),
      {
        persistent: true,
        contentType: 'application/json',
        messageId,
      },
    );
    await this.channel.waitForConfirms();
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}

function randomTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}
