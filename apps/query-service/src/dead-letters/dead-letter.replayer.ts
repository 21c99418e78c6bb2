import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { messageOf } from '@orders/platform';
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
    const publisher = this.openPublisher();
    const { connection, channel } = await publisher;
    // Mandatory: with the queue gone the broker returns the message (before confirming it)
    // instead of confirming a message it dropped, which would remove a dead letter for nothing.
    let returned = false;
    const onReturn = () => (returned = true);
    channel.on('return', onReturn);
    try {
      channel.publish('', this.config.queryQueueName, Buffer.from(doc.body.buffer), {
        ...replayPropertiesOf(doc),
        mandatory: true,
      });
      await channel.waitForConfirms();
      if (returned) throw new Error(`no queue ${this.config.queryQueueName} took it`);
    } catch (error) {
      // Start afresh next time, and close this connection rather than leave it open unused.
      if (this.publisher === publisher) this.publisher = null;
      await connection.close().catch(() => undefined);
      throw new ReplayUnavailableError(
        `RabbitMQ did not take the replay of ${doc._id}: ${messageOf(error)}`,
      );
    } finally {
      channel.off('return', onReturn);
    }
    await this.store.remove(doc._id);
    this.logger.log(
      `replayed dead letter ${doc._id} (${doc.eventType ?? 'message'} ${doc.messageId ?? ''})`,
    );
  }

  private openPublisher(): Promise<{ connection: ChannelModel; channel: ConfirmChannel }> {
    if (this.publisher) return this.publisher;
    const opening = (async () => {
      let connection: ChannelModel | undefined;
      try {
        connection = await connect(this.config.rabbitmqUrl, {
          clientProperties: {
            connection_name: `orders-query-service-replay@${hostname()}:${process.pid}`,
          },
          timeout: 10_000,
        });
        connection.on('error', () => undefined);
        const forget = () => {
          if (this.publisher === opening) this.publisher = null;
        };
        connection.once('close', forget);
        const channel = await connection.createConfirmChannel();
        channel.on('error', () => undefined);
        channel.once('close', forget);
        // Fails (and closes the channel, not the connection) if the queue does not exist.
        await channel.checkQueue(this.config.queryQueueName);
        return { connection, channel };
      } catch (error) {
        await connection?.close().catch(() => undefined);
        throw new ReplayUnavailableError(`cannot reach RabbitMQ to replay: ${messageOf(error)}`);
      }
    })();
    this.publisher = opening;
    opening.catch(() => {
      if (this.publisher === opening) this.publisher = null;
    });
    return opening;
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
