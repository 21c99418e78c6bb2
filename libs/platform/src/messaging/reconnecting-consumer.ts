import { Logger } from '@nestjs/common';
import {
  connect,
  type Channel,
  type ChannelModel,
  type ConsumeMessage,
  type Options,
} from 'amqplib';
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ReconnectingConsumerOptions {
  /** Names the logger. */
  name: string;
  /** Names the AMQP connection in the management UI, followed by `@<host>:<pid>`. */
  connectionName: string;
  url: string;
  queue: string;
  prefetch: number;
  /**
   * Turns Nagle's algorithm off (amqplib leaves it on), for a consumer that publishes replies
   * on its channel: a reply's frames then wait behind the previous write until the broker's
   * delayed TCP ACK comes, ~40 ms. Off for every connection of the system, the benchmark's
   * light-load lag was worse (p50 22–25 ms against 16–18 ms, two runs each way), so the event
   * consumers and the relay keep it on.
   */
  noDelay?: boolean;
  /** Declares what the consumer needs; runs on every (re)connection. */
  declare(channel: Channel): Promise<void>;
  /** Handles one delivery and settles it. A rejection is logged and the delivery requeued. */
  handle(delivery: Delivery): Promise<void>;
  /** Called when a session's connection or channel closes (possibly more than once). */
  sessionEnded?(): void;
}

/** One message in hand. Settling twice, or on a channel that died meanwhile, does nothing. */
export interface Delivery {
  readonly message: ConsumeMessage;
  /** Aborted when the service stops: cut waits short and settle. */
  readonly stopping: AbortSignal;
  /** False once the channel it came on is gone: the broker has taken it back already. */
  readonly channelOpen: boolean;
  ack(): void;
  /** nack without requeue: the queue's dead-letter exchange takes it. */
  deadLetter(): void;
  /** nack with requeue: delivered again, at most the queue's x-delivery-limit times. */
  requeue(): void;
  /**
   * Requeues after `delayMs`, or at once when the service stops; the consumer's drain waits
   * for it, so a stop never leaves it unsettled on a channel about to close.
   */
  requeueAfter(delayMs: number): void;
  /** Publishes on the consuming channel, so it goes out before a later ack of this delivery. */
  sendToQueue(queue: string, content: Buffer, options: Options.Publish): void;
}

interface ConsumerSession {
  connection: ChannelModel;
  channel: Channel;
  consumerTag: string | null;
  open: boolean;
  closed: Promise<void>;
}

const RECONNECT_BACKOFF = { baseMs: 250, maxMs: 10_000 };

/**
 * A queue consumer that survives connection loss: it reconnects with backoff, declares its
 * topology again, and on stop cancels the consumer, finishes the deliveries in hand, then
 * closes the channel and the connection. What is unacked when a connection dies the broker
 * delivers again; handlers are idempotent.
 */
export class ReconnectingConsumer {
  private readonly logger: Logger;
  private readonly stop = stopController();
  private readonly inFlight = new Set<Promise<void>>();
  private session: ConsumerSession | null = null;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly options: ReconnectingConsumerOptions) {
    this.logger = new Logger(options.name);
  }

  get isConsuming(): boolean {
    return this.session?.open === true && this.session.consumerTag !== null;
  }

  /** Resolves after the first connection attempt; later attempts run in the background. */
  start(): Promise<void> {
    // A stop that came first (a signal during start-up) leaves nothing to start.
    if (this.stop.signal.aborted) return Promise.resolve();
    return new Promise<void>((firstAttemptDone) => {
      this.running = this.consumeUntilStopped(firstAttemptDone);
    });
  }

  /** Begins the stop: cancels the consumer in the background; `close` waits for the rest. */
  stopConsuming(): void {
    this.stop.abort();
  }

  /** Takes no new deliveries, finishes the ones in hand, then closes the connection. */
  async close(): Promise<void> {
    this.stop.abort();
    await this.running;
  }

  private async consumeUntilStopped(firstAttemptDone: () => void): Promise<void> {
    const stopped = new Promise<void>((resolve) =>
      this.stop.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    let failures = 0;
    while (!this.stop.signal.aborted) {
      try {
        const session = await this.openSession();
        this.session = session;
        failures = 0;
        firstAttemptDone();
        this.logger.log(`consuming ${this.options.queue} (prefetch ${this.options.prefetch})`);
        await Promise.race([session.closed, stopped]);
        if (this.stop.signal.aborted) {
          await this.closeSession(session);
          break;
        }
        this.logger.warn('RabbitMQ connection lost; reconnecting');
      } catch (error) {
        firstAttemptDone();
        this.logger.error(`cannot consume ${this.options.queue}: ${messageOf(error)}; retrying`);
      }
      failures += 1;
      await sleep(backoffMs(failures), undefined, { signal: this.stop.signal }).catch(
        () => undefined,
      );
    }
    firstAttemptDone();
    // Handlers of a session that died on its own may still be winding down.
    await this.drain();
  }

  private async openSession(): Promise<ConsumerSession> {
    const connection = await connect(this.options.url, {
      noDelay: this.options.noDelay ?? false,
      clientProperties: {
        connection_name: `${this.options.connectionName}@${hostname()}:${process.pid}`,
      },
      timeout: 10_000,
    });
    // Attached at once: an 'error' event without a listener would crash the process.
    connection.on('error', (error: Error) =>
      this.logger.warn(`RabbitMQ connection error: ${error.message}`),
    );
    let markClosed = (): void => undefined;
    const closed = new Promise<void>((resolve) => (markClosed = resolve));
    let session: ConsumerSession | null = null;
    const endSession = () => {
      if (session) session.open = false;
      this.options.sessionEnded?.();
      markClosed();
    };
    connection.on('close', endSession);
    try {
      const channel = await connection.createChannel();
      channel.on('error', (error: Error) =>
        this.logger.warn(`RabbitMQ channel error: ${error.message}`),
      );
      channel.on('close', () => {
        endSession();
        // A channel closed by the broker leaves the connection useless to us: start afresh.
        connection.close().catch(() => undefined);
      });
      const opened: ConsumerSession = {
        connection,
        channel,
        consumerTag: null,
        open: true,
        closed,
      };
      session = opened;
      await this.options.declare(channel);
      await channel.prefetch(this.options.prefetch);
      const { consumerTag } = await channel.consume(
        this.options.queue,
        (message) => this.onDelivery(opened, message),
        { noAck: false },
      );
      opened.consumerTag = consumerTag;
      return opened;
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
  }

  private async closeSession(session: ConsumerSession): Promise<void> {
    if (session.open && session.consumerTag !== null) {
      // Deliveries sent before the cancel-ok reach onDelivery before this resolves.
      await session.channel.cancel(session.consumerTag).catch((error: unknown) => {
        this.logger.warn(`cancelling the consumer failed: ${messageOf(error)}`);
      });
    }
    await this.drain();
    // Closing the channel first flushes its replies and acks: amqplib writes a connection
    // close ahead of channel frames still queued, and the broker drops what comes after it.
    await session.channel.close().catch(() => undefined);
    await session.connection.close().catch(() => undefined);
    this.logger.log(`stopped consuming ${this.options.queue}`);
  }

  private onDelivery(session: ConsumerSession, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled us (queue deleted or moved): reconnect, which declares it again.
      this.logger.warn(`consumer on ${this.options.queue} was cancelled by the broker`);
      session.connection.close().catch(() => undefined);
      return;
    }
    const delivery = this.deliveryOf(session, message);
    this.track(
      this.options.handle(delivery).catch((error: unknown) => {
        this.logger.error(
          `handling delivery ${message.fields.deliveryTag} failed: ${messageOf(error)}`,
          error instanceof Error ? error.stack : undefined,
        );
        delivery.requeue();
      }),
    );
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private deliveryOf(session: ConsumerSession, message: ConsumeMessage): Delivery {
    let settled = false;
    const settle = (how: 'ack' | 'dead-letter' | 'requeue') => {
      // On a dead channel the broker has already taken the message back for redelivery.
      if (settled || !session.open) return;
      settled = true;
      try {
        if (how === 'ack') session.channel.ack(message);
        else session.channel.nack(message, false, how === 'requeue');
      } catch (error) {
        this.logger.warn(
          `could not ${how} delivery ${message.fields.deliveryTag}: ${messageOf(error)}`,
        );
      }
    };
    return {
      message,
      stopping: this.stop.signal,
      get channelOpen() {
        return session.open;
      },
      ack: () => settle('ack'),
      deadLetter: () => settle('dead-letter'),
      requeue: () => settle('requeue'),
      requeueAfter: (delayMs) => {
        this.track(
          sleep(delayMs, undefined, { signal: this.stop.signal })
            .catch(() => undefined)
            .then(() => settle('requeue')),
        );
      },
      sendToQueue: (queue, content, options) => {
        if (!session.open) throw new Error('the RabbitMQ channel is closed');
        session.channel.sendToQueue(queue, content, options);
      },
    };
  }

  private async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}

/**
 * Every delivery in hand may wait on the stop signal at once (a retry's or a requeue's sleep),
 * a listener each: hundreds under prefetch. Node warns of a leak past ten.
 */
function stopController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/** Exponential backoff with jitter, so many replicas or messages spread their retries. */
export function backoffMs(
  attempt: number,
  { baseMs, maxMs }: { baseMs: number; maxMs: number } = RECONNECT_BACKOFF,
): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 20));
  return Math.round(exponential * (0.8 + Math.random() * 0.4));
}

/** Quorum queues count earlier deliveries in `x-delivery-count`; absent on the first one. */
export function deliveryCountOf(message: ConsumeMessage): number {
  const count: unknown = message.properties.headers?.['x-delivery-count'];
  return typeof count === 'number' && Number.isSafeInteger(count) && count >= 0 ? count : 0;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
