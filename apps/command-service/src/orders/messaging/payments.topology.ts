import { PAYMENT_SUCCEEDED_ROUTING_KEY, PAYMENTS_EVENTS_EXCHANGE } from '@orders/contracts';
import type { Channel } from 'amqplib';

export const PAYMENTS_QUEUE = 'orders.command-service.payments';
export const PAYMENTS_DEAD_LETTER_QUEUE = `${PAYMENTS_QUEUE}.dead-letter`;
/**
 * Deliveries of one payment before it is dead-lettered. Only transient failures (PostgreSQL
 * unreachable) requeue; with the backoff of the consumer this rides out about half a minute.
 */
export const PAYMENTS_DELIVERY_LIMIT = 8;

/** Idempotent. A queue declared elsewhere with other arguments fails (PRECONDITION_FAILED). */
export async function assertPaymentsTopology(channel: Channel): Promise<void> {
  await channel.assertExchange(PAYMENTS_EVENTS_EXCHANGE, 'topic', { durable: true });
  await channel.assertExchange(PAYMENTS_DEAD_LETTER_QUEUE, 'fanout', { durable: true });
  await channel.assertQueue(PAYMENTS_DEAD_LETTER_QUEUE, {
    durable: true,
    arguments: { 'x-queue-type': 'quorum' },
  });
  await channel.bindQueue(PAYMENTS_DEAD_LETTER_QUEUE, PAYMENTS_DEAD_LETTER_QUEUE, '');
  await channel.assertQueue(PAYMENTS_QUEUE, {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-delivery-limit': PAYMENTS_DELIVERY_LIMIT,
      'x-dead-letter-exchange': PAYMENTS_DEAD_LETTER_QUEUE,
      // at-least-once keeps a message here until the dead-letter queue has confirmed it;
      // RabbitMQ requires reject-publish overflow for that strategy.
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    },
  });
  await channel.bindQueue(PAYMENTS_QUEUE, PAYMENTS_EVENTS_EXCHANGE, PAYMENT_SUCCEEDED_ROUTING_KEY);
}
