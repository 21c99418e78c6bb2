import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { parseEventEnvelope, type EventEnvelope } from '@orders/contracts';
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import {
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerSelectionError,
} from 'mongodb';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { QUERY_SERVICE_CONFIG, type QueryServiceConfig } from '../config/query-service.config';
import { OrderVersionNotifier } from '../consistency/order-version.notifier';
import { OrderViewProjectionError, orderViewIdOf } from '../projections/order-view.projection';
import { ReadModelGenerations } from '../read-store/read-model-generations';
import type { ReadModelCollections } from '../read-store/read-model.collections';
import { ReadModelWriter, type ApplyOutcome } from '../read-store/read-model.writer';
import { isSwitchMarker, parseSwitchMarker } from '../rebuild/read-model-switch.message';
import { ReadModelSwitcher } from '../rebuild/read-model.switcher';
import {
  assertOrderEventsTopology,
  orderEventsTopologyOf,
  type OrderEventsTopology,
} from './order-events.topology';
import { PerOrderSerializer } from './per-order.serializer';
import { ProjectionLagMonitor } from './projection-lag.monitor';
import { ProjectionMetrics } from './projection.metrics';

/** One connection + channel + consumer; replaced as a whole when any part of it fails. */
interface ConsumerSession {
  connection: ChannelModel;
  channel: Channel;
  consumerTag: string | null;
  open: boolean;
  closed: Promise<void>;
  /** Gap deliveries waiting out their delay before they are requeued. */
  delayedRequeues: Map<ConsumeMessage, NodeJS.Timeout>;
}

type Settlement = 'ack' | 'dead-letter' | 'requeue';

const RECONNECT_BACKOFF = { baseMs: 250, maxMs: 10_000 };
const READ_STORE_BACKOFF = { baseMs: 100, maxMs: 5_000 };
const GAP_REQUEUE_BACKOFF = { baseMs: 50, maxMs: 2_000 };

/**
 * RabbitMQ intake of the order events: validate, apply to the read model exactly once in
 * version order per order, and ack only after the MongoDB write.
 */
@Injectable()
export class OrderEventsConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(OrderEventsConsumer.name);
  private readonly topology: OrderEventsTopology;
  private readonly serializer = new PerOrderSerializer();
  private readonly stop = new AbortController();
  private session: ConsumerSession | null = null;
  private running: Promise<void> = Promise.resolve();
  /**
   * The generation live events are written to. Read from the store (never from a cache)
   * whenever this replica starts applying after being idle: a replica that was standing by
   * under single-active-consumer may have missed a switch made by the previous active one.
   */
  private writeTarget: Promise<ReadModelCollections> | null = null;
  /** Deliveries held back while a switch marker is handled; null when intake flows. */
  private held: { session: ConsumerSession; message: ConsumeMessage }[] | null = null;
  private switching: Promise<void> | null = null;

  constructor(
    @Inject(QUERY_SERVICE_CONFIG) private readonly config: QueryServiceConfig,
    private readonly writer: ReadModelWriter,
    private readonly generations: ReadModelGenerations,
    private readonly notifier: OrderVersionNotifier,
    private readonly switcher: ReadModelSwitcher,
    private readonly metrics: ProjectionMetrics,
    private readonly lag: ProjectionLagMonitor,
  ) {
    this.topology = orderEventsTopologyOf(config.queryQueueName);
  }

  /** True while a consumer is registered (active, or standing by under single-active-consumer). */
  get isConsuming(): boolean {
    return this.session?.open === true && this.session.consumerTag !== null;
  }

  /** Waits for the first connection attempt only; later ones run in the background. */
  async onApplicationBootstrap(): Promise<void> {
    await new Promise<void>((firstAttemptDone) => {
      this.running = this.consumeUntilStopped(firstAttemptDone);
    });
  }

  /** Stops taking deliveries, finishes the ones in hand, then closes the connection. */
  async beforeApplicationShutdown(): Promise<void> {
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
        this.logger.log(`consuming ${this.topology.queue} (prefetch ${this.config.prefetch})`);
        await Promise.race([session.closed, stopped]);
        if (this.stop.signal.aborted) {
          await this.closeSession(session);
          break;
        }
        this.logger.warn('RabbitMQ connection lost; reconnecting');
      } catch (error) {
        firstAttemptDone();
        this.logger.error(`cannot consume from RabbitMQ: ${messageOf(error)}; retrying`);
      }
      failures += 1;
      await this.pause(backoffMs(failures, RECONNECT_BACKOFF));
    }
    firstAttemptDone();
    // Handlers of a session that died on its own may still be winding down.
    await this.serializer.drain();
  }

  private async openSession(): Promise<ConsumerSession> {
    const connection = await connect(this.config.rabbitmqUrl, {
      clientProperties: { connection_name: `orders-query-service@${hostname()}:${process.pid}` },
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
      if (session) {
        session.open = false;
        for (const timer of session.delayedRequeues.values()) clearTimeout(timer);
        session.delayedRequeues.clear();
      }
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
        delayedRequeues: new Map(),
      };
      session = opened;
      await assertOrderEventsTopology(channel, this.topology);
      await channel.prefetch(this.config.prefetch);
      const { consumerTag } = await channel.consume(
        this.topology.queue,
        (message) => this.onDelivery(opened, message),
        { noAck: false },
      );
      opened.consumerTag = consumerTag;
      this.writeTarget = null;
      return opened;
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
  }

  private async closeSession(session: ConsumerSession): Promise<void> {
    if (session.open && session.consumerTag !== null) {
      await session.channel.cancel(session.consumerTag).catch((error: unknown) => {
        this.logger.warn(`cancelling the consumer failed: ${messageOf(error)}`);
      });
    }
    await this.switching;
    await this.serializer.drain();
    for (const [message, timer] of session.delayedRequeues) {
      clearTimeout(timer);
      this.settle(session, message, 'requeue');
    }
    session.delayedRequeues.clear();
    await session.connection.close().catch(() => undefined);
    this.logger.log('stopped consuming');
  }

  private onDelivery(session: ConsumerSession, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled us (queue deleted or moved): reconnect, which re-declares it.
      this.logger.warn(`consumer on ${this.topology.queue} was cancelled by the broker`);
      session.connection.close().catch(() => undefined);
      return;
    }
    if (this.held !== null) {
      this.held.push({ session, message });
      return;
    }
    if (isSwitchMarker(message)) {
      this.switching = this.switchReadModels(session, message);
      return;
    }
    const envelope = this.parseDelivery(message);
    if (envelope === null) {
      this.metrics.countEvent('dead_lettered', 'invalid');
      this.settle(session, message, 'dead-letter');
      return;
    }
    if (this.serializer.pendingOrders === 0) this.writeTarget = null;
    this.serializer.runInOrder(orderViewIdOf(envelope.orderId), () =>
      this.applyDelivery(session, message, envelope),
    );
  }

  /**
   * A rebuild's switch marker: hold back every later delivery, let the earlier ones finish on
   * the current generation, have the switcher catch the new generation up and activate it,
   * then let the held deliveries through (to whichever generation is active now). Being the
   * active consumer is what makes this replica the one that switches.
   */
  private async switchReadModels(session: ConsumerSession, message: ConsumeMessage): Promise<void> {
    this.held = [];
    let settlement: Settlement | 'retry' = 'retry';
    try {
      const marker = parseSwitchMarker(message);
      if (marker === null) {
        this.logRefused(message, 'not a valid read-model switch marker');
        settlement = 'dead-letter';
        return;
      }
      await this.serializer.drain();
      if (!session.open) return;
      const result = await this.switcher.completeSwitch(marker, this.stop.signal);
      this.logger.log(`switch marker for generation ${marker.generation}: ${result}`);
      settlement = 'ack';
    } catch (error) {
      if (!this.stop.signal.aborted) {
        this.logger.warn(`handling a switch marker failed: ${messageOf(error)}; it will come back`);
      }
    } finally {
      this.writeTarget = null;
      const held = this.held;
      this.held = null;
      this.switching = null;
      if (settlement === 'retry') this.requeueAfterDelay(session, message, 'switch marker');
      else this.settle(session, message, settlement);
      if (!this.stop.signal.aborted) {
        for (const delivery of held) this.onDelivery(delivery.session, delivery.message);
      }
    }
  }

  /** Messages are untrusted: anything but a valid envelope goes to the dead-letter queue. */
  private parseDelivery(message: ConsumeMessage): EventEnvelope | null {
    let body: unknown;
    try {
      body = JSON.parse(message.content.toString('utf8'));
    } catch {
      this.logRefused(message, 'body is not JSON');
      return null;
    }
    const parsed = parseEventEnvelope(body);
    if (!parsed.ok) {
      this.logRefused(message, parsed.reason);
      return null;
    }
    return parsed.envelope;
  }

  private async applyDelivery(
    session: ConsumerSession,
    message: ConsumeMessage,
    envelope: EventEnvelope,
  ): Promise<void> {
    for (let failures = 1; session.open; failures += 1) {
      let outcome: ApplyOutcome;
      try {
        outcome = await this.writer.applyOrderEvent(await this.currentWriteTarget(), envelope);
      } catch (error) {
        if (error instanceof OrderViewProjectionError) {
          this.metrics.countEvent('dead_lettered', envelope.type);
          this.logRefused(message, error.message);
          this.settle(session, message, 'dead-letter');
          return;
        }
        if (this.stop.signal.aborted) return;
        if (isTransientReadStoreError(error)) {
          // The read store is unreachable: keep the message unacked and retry here rather than
          // spend its bounded redeliveries on an outage. On shutdown the broker takes it back.
          this.logger.warn(
            `applying ${describe(envelope)} failed (attempt ${failures}): ${messageOf(error)}`,
          );
          await this.pause(backoffMs(failures, READ_STORE_BACKOFF));
          continue;
        }
        // Anything else may fail again the same way: bounded by the delivery limit, like a gap.
        this.logger.error(`applying ${describe(envelope)} failed: ${messageOf(error)}`);
        this.requeueAfterDelay(session, message, describe(envelope));
        return;
      }
      switch (outcome.kind) {
        case 'applied':
          this.settle(session, message, 'ack');
          this.metrics.countEvent('applied', envelope.type);
          this.lag.recordApplied(envelope);
          this.notifier.notifyOrderVersion(outcome.orderId, outcome.version);
          return;
        case 'duplicate':
          this.settle(session, message, 'ack');
          this.metrics.countEvent('duplicate', envelope.type);
          return;
        case 'gap':
          this.metrics.countEvent('gap', envelope.type);
          this.requeueAfterDelay(
            session,
            message,
            `${describe(envelope)} waits for v${outcome.version + 1}`,
          );
          return;
        default: {
          const unhandled: never = outcome;
          throw new Error(`unhandled outcome ${JSON.stringify(unhandled)}`);
        }
      }
    }
  }

  private currentWriteTarget(): Promise<ReadModelCollections> {
    if (this.writeTarget === null) {
      const reading = this.generations.forWriting();
      // A failed read is retried by the next delivery, not cached.
      reading.catch(() => {
        if (this.writeTarget === reading) this.writeTarget = null;
      });
      this.writeTarget = reading;
    }
    return this.writeTarget;
  }

  /**
   * Gaps (an earlier event of the order is still on its way, or was dead-lettered) and
   * unexpected failures. Choice: requeue after a delay that grows with the delivery count, and
   * let the queue's x-delivery-limit dead-letter the message once retries are exhausted. The
   * delay runs outside the per-order chain, so a missing event can be applied meanwhile.
   */
  private requeueAfterDelay(session: ConsumerSession, message: ConsumeMessage, why: string): void {
    const deliveries = deliveryCountOf(message) + 1;
    const delayMs = backoffMs(deliveries, GAP_REQUEUE_BACKOFF);
    this.logger.warn(`${why} (delivery ${deliveries}); requeueing in ${delayMs} ms`);
    const timer = setTimeout(() => {
      session.delayedRequeues.delete(message);
      this.settle(session, message, 'requeue');
    }, delayMs);
    session.delayedRequeues.set(message, timer);
  }

  private settle(session: ConsumerSession, message: ConsumeMessage, how: Settlement): void {
    // On a dead channel the broker has already taken the message back for redelivery.
    if (!session.open) return;
    try {
      if (how === 'ack') session.channel.ack(message);
      else session.channel.nack(message, false, how === 'requeue');
    } catch (error) {
      this.logger.warn(
        `could not ${how} delivery ${message.fields.deliveryTag}: ${messageOf(error)}`,
      );
    }
  }

  private logRefused(message: ConsumeMessage, reason: string): void {
    const messageId = String(message.properties.messageId ?? '(none)');
    this.logger.error(
      `dead-lettering message ${messageId} (${message.fields.routingKey}) to ${this.topology.deadLetterQueue}: ${reason.slice(0, 1000)}`,
    );
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.stop.signal }).catch(() => undefined);
  }
}

function backoffMs(attempt: number, { baseMs, maxMs }: { baseMs: number; maxMs: number }): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 20));
  // Jitter spreads the retries of many replicas/messages apart.
  return Math.round(exponential * (0.8 + Math.random() * 0.4));
}

/** Quorum queues count redeliveries in `x-delivery-count`; absent on the first delivery. */
function deliveryCountOf(message: ConsumeMessage): number {
  const count: unknown = message.properties.headers?.['x-delivery-count'];
  return typeof count === 'number' && Number.isSafeInteger(count) && count >= 0 ? count : 0;
}

/** Failures that go away by themselves when the read store is back: worth retrying in place. */
function isTransientReadStoreError(error: unknown): boolean {
  return (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNotConnectedError ||
    (error instanceof MongoError && error.hasErrorLabel('RetryableWriteError'))
  );
}

function describe(envelope: EventEnvelope): string {
  return `${envelope.type} v${envelope.version} of order ${envelope.orderId}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
