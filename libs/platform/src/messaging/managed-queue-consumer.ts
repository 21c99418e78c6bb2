import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import type { Channel } from 'amqplib';
import {
  ReconnectingConsumer,
  type Delivery,
  type ReconnectingConsumerOptions,
} from './reconnecting-consumer';

export type QueueConsumerSettings = Omit<ReconnectingConsumerOptions, 'declare' | 'handle'>;

/**
 * A Nest provider consuming one queue for the application's lifetime: it starts consuming
 * at bootstrap (waiting for the first connection attempt only) and, before the application
 * shuts down, stops taking deliveries, finishes and settles the ones in hand, then closes
 * the channel and the connection.
 */
export abstract class ManagedQueueConsumer
  implements OnApplicationBootstrap, BeforeApplicationShutdown
{
  private readonly consumer: ReconnectingConsumer;

  protected constructor(settings: QueueConsumerSettings) {
    this.consumer = new ReconnectingConsumer({
      ...settings,
      declare: (channel) => this.declareTopology(channel),
      handle: (delivery) => this.handleDelivery(delivery),
    });
  }

  /** True while a consumer is registered (active, or waiting under single-active-consumer). */
  get isConsuming(): boolean {
    return this.consumer.isConsuming;
  }

  onApplicationBootstrap(): Promise<void> {
    return this.consumer.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.consumer.close();
  }

  /** Declares what the consumer needs; runs on every (re)connection, before consuming. */
  protected abstract declareTopology(channel: Channel): Promise<void>;

  /** Handles one delivery and settles it. A rejection is logged and the delivery requeued. */
  protected abstract handleDelivery(delivery: Delivery): Promise<void>;
}
