import { ORDERS_EVENTS_EXCHANGE } from '@orders/contracts';
import type { Channel } from 'amqplib';

/** Deliveries of one message before the queue dead-letters it (bounded retries of a gap). */
export const DELIVERY_LIMIT = 10;
/** Every order event routing key (`order.placed`, `order.item-added`, ...). */
export const ORDER_EVENTS_BINDING = 'order.*';

export interface OrderEventsTopology {
  queue: string;
  deadLetterExchange: string;
  deadLetterQueue: string;
}

export function orderEventsTopologyOf(queueName: string): OrderEventsTopology {
  return {
    queue: queueName,
    deadLetterExchange: `${queueName}.dead-letter`,
    deadLetterQueue: `${queueName}.dead-letter`,
  };
}

/**
 * Declares what the query side consumes from. Idempotent; a queue that exists with other
 * arguments fails the declaration (PRECONDITION_FAILED) instead of being silently reused.
 */
export async function assertOrderEventsTopology(
  channel: Channel,
  topology: OrderEventsTopology,
): Promise<void> {
  await channel.assertExchange(ORDERS_EVENTS_EXCHANGE, 'topic', { durable: true });
  await channel.assertExchange(topology.deadLetterExchange, 'fanout', { durable: true });
  await channel.assertQueue(topology.deadLetterQueue, {
    durable: true,
    arguments: { 'x-queue-type': 'quorum' },
  });
  await channel.bindQueue(topology.deadLetterQueue, topology.deadLetterExchange, '');
  await channel.assertQueue(topology.queue, {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      // One consumer at a time across all replicas keeps each order's events in version
      // order; when it dies, another replica's waiting consumer takes over.
      'x-single-active-consumer': true,
      'x-delivery-limit': DELIVERY_LIMIT,
      'x-dead-letter-exchange': topology.deadLetterExchange,
      // at-least-once dead-lettering keeps a message in this queue until the dead-letter
      // queue has confirmed it; RabbitMQ requires reject-publish overflow for it.
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    },
  });
  await channel.bindQueue(topology.queue, ORDERS_EVENTS_EXCHANGE, ORDER_EVENTS_BINDING);
}
