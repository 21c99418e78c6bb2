import { ORDERS_COMMANDS_DEAD_LETTER_QUEUE, ORDERS_COMMANDS_QUEUE } from '@orders/contracts';
import type { Channel } from 'amqplib';

/**
 * Deliveries of one command message before it is dead-lettered. A command is answered on
 * its first delivery, refusals and failures included; only a replica dying mid-command
 * brings it back, and a message that keeps doing that must not go round forever.
 */
export const ORDERS_COMMANDS_DELIVERY_LIMIT = 5;

/** Idempotent. A queue declared elsewhere with other arguments fails (PRECONDITION_FAILED). */
export async function assertOrdersCommandsTopology(channel: Channel): Promise<void> {
  await channel.assertExchange(ORDERS_COMMANDS_DEAD_LETTER_QUEUE, 'fanout', { durable: true });
  await channel.assertQueue(ORDERS_COMMANDS_DEAD_LETTER_QUEUE, {
    durable: true,
    arguments: { 'x-queue-type': 'quorum' },
  });
  await channel.bindQueue(ORDERS_COMMANDS_DEAD_LETTER_QUEUE, ORDERS_COMMANDS_DEAD_LETTER_QUEUE, '');
  await channel.assertQueue(ORDERS_COMMANDS_QUEUE, {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-delivery-limit': ORDERS_COMMANDS_DELIVERY_LIMIT,
      'x-dead-letter-exchange': ORDERS_COMMANDS_DEAD_LETTER_QUEUE,
      // at-least-once keeps a message here until the dead-letter queue has confirmed it;
      // RabbitMQ requires reject-publish overflow for that strategy.
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    },
  });
}
