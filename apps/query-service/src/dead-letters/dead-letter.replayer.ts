import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { hostname } from 'node:os';
import { QUERY_SERVICE_CONFIG, type QueryServiceConfig } from '../config/query-service.config';
import { DeadLetterNotFoundError, ReplayUnavailableError } from '../errors/query.errors';
import type { DeadLetterDocument } from './dead-letter.document';
import { replayPropertiesOf } from './dead-letter.message';
import { DeadLetterStore, type DeadLetterFilter } from './dead-letter.store';

const REPLAY_PAGE = 100;

/**
 * Puts dead letters back on the projection's queue: published straight to it (default
 * exchange), with the original properties and a replay count, confirmed by the broker; only
 * then removed from the store. A crash in between replays the message twice, which the
 * projection absorbs as a duplicate.
 */
@Injectable()
export class DeadLetterReplayer implements OnApplicationShutdown {
  private readonly logger = new Logger(DeadLetterReplayer.name);
  private publisher: Promise<{ connection: ChannelModel; channel: ConfirmChannel }> | null = null;
  /** One replay at a time per replica keeps the channel simple and the order of replays clear. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    @Inject(QUERY_SERVICE_CONFIG) private readonly config: QueryServiceConfig,
    private readonly store: DeadLetterStore,
  ) {}

  replay(id: string): Promise<DeadLetterDocument> {
    return this.serialized(async () => {
      const doc = await this.store.get(id);
      if (doc === null) throw new DeadLetterNotFoundError(id);
      await this.republish(doc);
      return doc;
    });
  }

  /** Replays what is stored now (matching `filter`), oldest first; later arrivals wait for the next call. */
  replayAll(filter: DeadLetterFilter): Promise<DeadLetterDocument[]> {
    return this.serialized(async () => {
      const until = new Date();
      const replayed: DeadLetterDocument[] = [];
      let after: { storedAt: Date; id: string } | null = null;
      for (;;) {
        const page = await this.store.list(filter, REPLAY_PAGE, after);
        const due = page.filter((doc) => doc.storedAt <= until);
        for (const doc of due) {
          await this.republish(doc);
          replayed.push(doc);
        }
        const last = page.at(-1);
        if (page.length < REPLAY_PAGE || due.length < page.length || !last) return replayed;
        after = { storedAt: last.storedAt, id: last._id };
      }
    });
  }

  async onApplicationShutdown(): Promise<void> {
    const publisher = await this.publisher?.catch(() => null);
    await publisher?.connection.close().catch(() => undefined);
  }

  private async republish(doc: DeadLetterDocument): Promise<void> {
    const { channel } = await this.openPublisher();
    try {
      channel.publish(
        '',
        this.config.queryQueueName,
        Buffer.from(doc.body.buffer),
        replayPropertiesOf(doc),
      );
      await channel.waitForConfirms();
    } catch (error) {
      this.publisher = null;
      throw new ReplayUnavailableError(
        `RabbitMQ did not take the replay of ${doc._id}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    await this.store.remove(doc._id);
    this.logger.log(
      `replayed dead letter ${doc._id} (${doc.eventType ?? 'message'} ${doc.messageId ?? ''})`,
    );
  }

  private openPublisher(): Promise<{ connection: ChannelModel; channel: ConfirmChannel }> {
    this.publisher ??= (async () => {
      try {
        const connection = await connect(this.config.rabbitmqUrl, {
          clientProperties: {
            connection_name: `orders-query-service-replay@${hostname()}:${process.pid}`,
          },
          timeout: 10_000,
        });
        connection.on('error', () => undefined);
        connection.once('close', () => (this.publisher = null));
        const channel = await connection.createConfirmChannel();
        channel.on('error', () => undefined);
        channel.once('close', () => (this.publisher = null));
        // Fails (and closes the channel) if the projection's queue does not exist.
        await channel.checkQueue(this.config.queryQueueName);
        return { connection, channel };
      } catch (error) {
        this.publisher = null;
        throw new ReplayUnavailableError(
          `cannot reach RabbitMQ to replay: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    })();
    return this.publisher;
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
