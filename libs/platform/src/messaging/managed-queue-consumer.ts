import type {
  BeforeApplicationShutdown,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import type { Channel } from 'amqplib';
import {
  ReconnectingConsumer,
  type Delivery,
  type ReconnectingConsumerOptions,
} from './reconnecting-consumer';

export type QueueConsumerSettings = Omit<ReconnectingConsumerOptions, 'declare' | 'handle'>;

/**
 * A Nest provider consuming one queue for the application's lifetime: it starts consuming
 * at bootstrap (waiting for the first connection attempt only); on shutdown it stops taking
 * deliveries in the destroy hook, which Nest runs for every provider before any
 * before-shutdown hook, so all consumers (and HTTP) stop intake at once; then it finishes
 * and settles the deliveries in hand and closes the channel and the connection.
 */
export abstract class ManagedQueueConsumer
  implements OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown
{
  private readonly consumer: ReconnectingConsumer;

  protected constructor(settings: QueueConsumerSettings) {
    this.consumer = new ReconnectingConsumer({
      ...settings,
      declare: (channel) => this.declareTopology(channel),
      handle: (delivery) => this.handleDelivery(delivery),
      sessionEnded: () => this.sessionEnded(),
    });
  }

  /** True while a consumer is registered (active, or waiting under single-active-consumer). */
  get isConsuming(): boolean {
    return this.consumer.isConsuming;
  }

  onApplicationBootstrap(): Promise<void> {
    return this.consumer.start();
  }

  onModuleDestroy(): void {
    this.consumer.stopConsuming();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.consumer.close();
  }

  /** Declares what the consumer needs; runs on every (re)connection, before consuming. */
  protected abstract declareTopology(channel: Channel): Promise<void>;

  /** Handles one delivery and settles it. A rejection is logged and the delivery requeued. */
  protected abstract handleDelivery(delivery: Delivery): Promise<void>;

  /** Runs when a session's connection or channel closes: its unacked deliveries go back. */
  protected sessionEnded(): void {}
}
