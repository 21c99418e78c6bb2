import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { QUERY_SERVICE_CONFIG, type QueryServiceConfig } from '../config/query-service.config';
import {
  assertOrderEventsTopology,
  orderEventsTopologyOf,
} from '../consumers/order-events.topology';
import { deadLetterOf } from './dead-letter.message';
import { DeadLetterStore } from './dead-letter.store';

const INTAKE_PREFETCH = 50;
const RETRY_MS = { base: 200, max: 10_000 };

/**
 * Moves every message of the dead-letter queue into the `dead_letters` store, acking each only
 * after its insert. Reading a queue without taking messages off it (get + requeue) does not
 * scale and reorders it, so the store is the operator's view. Every replica runs one; a
 * redelivered message maps to the same document id and is stored once.
 */
@Injectable()
export class DeadLetterIntake implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(DeadLetterIntake.name);
  private readonly stop = new AbortController();
  private running: Promise<void> = Promise.resolve();
  private inFlight = new Set<Promise<void>>();
  private connected = false;

  constructor(
    @Inject(QUERY_SERVICE_CONFIG) private readonly config: QueryServiceConfig,
    private readonly store: DeadLetterStore,
  ) {}

  get isConnected(): boolean {
    return this.connected;
  }

  onApplicationBootstrap(): void {
    this.running = this.consumeUntilStopped();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stop.abort();
    await this.running;
  }

  private async consumeUntilStopped(): Promise<void> {
    const topology = orderEventsTopologyOf(this.config.queryQueueName);
    for (let failures = 0; !this.stop.signal.aborted;) {
      let connection: ChannelModel | undefined;
      try {
        const opened = await connect(this.config.rabbitmqUrl, {
          clientProperties: {
            connection_name: `orders-query-service-dead-letters@${hostname()}:${process.pid}`,
          },
          timeout: 10_000,
        });
        connection = opened;
        opened.on('error', (error: Error) =>
          this.logger.warn(`RabbitMQ connection error: ${error.message}`),
        );
        const closed = new Promise<void>((resolve) => opened.once('close', () => resolve()));
        const channel = await opened.createChannel();
        channel.on('error', (error: Error) => this.logger.warn(`channel error: ${error.message}`));
        channel.once('close', () => void opened.close().catch(() => undefined));
        await assertOrderEventsTopology(channel, topology);
        await channel.prefetch(INTAKE_PREFETCH);
        await channel.consume(
          topology.deadLetterQueue,
          (message) => {
            if (message) this.track(this.keep(channel, message));
          },
          { noAck: false },
        );
        this.connected = true;
        failures = 0;
        const stopped = new Promise<void>((resolve) =>
          this.stop.signal.addEventListener('abort', () => resolve(), { once: true }),
        );
        await Promise.race([closed, stopped]);
      } catch (error) {
        this.logger.warn(`dead-letter intake cannot consume: ${messageOf(error)}; retrying`);
      } finally {
        this.connected = false;
        await Promise.all(this.inFlight);
        await connection?.close().catch(() => undefined);
      }
      failures += 1;
      await this.pause(Math.min(RETRY_MS.max, RETRY_MS.base * 2 ** Math.min(failures, 10)));
    }
  }

  /** Stores the message, retrying in place while the store fails; acks only after the insert. */
  private async keep(channel: Channel, message: ConsumeMessage): Promise<void> {
    const doc = deadLetterOf(message, new Date());
    for (let attempt = 1; !this.stop.signal.aborted; attempt += 1) {
      try {
        const stored = await this.store.insert(doc);
        if (stored) {
          this.logger.warn(
            `dead letter ${doc._id} stored: ${doc.eventType ?? 'message'} ${doc.messageId ?? ''} (${doc.reason}): ${doc.diagnosis}`,
          );
        }
        channel.ack(message);
        return;
      } catch (error) {
        this.logger.error(
          `storing dead letter ${doc._id} failed (attempt ${attempt}): ${messageOf(error)}`,
        );
        await this.pause(Math.min(RETRY_MS.max, RETRY_MS.base * 2 ** Math.min(attempt, 10)));
      }
    }
    // Shutting down: the broker takes the unacked message back when the channel closes.
  }

  private track(work: Promise<void>): void {
    const settled = work.catch((error: unknown) =>
      this.logger.warn(`dead letter not stored: ${messageOf(error)}`),
    );
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.stop.signal }).catch(() => undefined);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
