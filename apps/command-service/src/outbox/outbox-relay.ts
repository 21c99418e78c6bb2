import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { ORDER_ID_HEADER, ORDERS_EVENTS_EXCHANGE, routingKeyOf } from '@orders/contracts';
import {
  amqpBrokerOf,
  recordFailure,
  startAmqpPublishSpan,
  traceHeadersOf,
  type AmqpBroker,
} from '@orders/platform/tracing';
import type { Span } from '@opentelemetry/api';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { Client } from 'pg';
import {
  COMMAND_SERVICE_CONFIG,
  type CommandServiceConfig,
} from '../config/command-service.config';
import { OrderEventStore, type StoredEvent } from '../event-store/order-event-store';
import { COMMIT_CHANNEL, CommitSignal } from './commit-signal';
import { OutboxMetrics } from './outbox.metrics';
import { RelayCheckpoint } from './relay-checkpoint';

/** Advisory lock key: whoever holds it is the one active relay among all replicas. */
const RELAY_LEADER_LOCK = 7_310_002;
const MAX_BACKOFF_MS = 10_000;

/**
 * Publishes committed events to `orders.events` in position order and moves its checkpoint
 * only after the broker confirmed them. Hand-written on amqplib because the two rules that
 * make it correct are ours: the visibility rule of OrderEventStore.readFeed, and "an event
 * is published when confirmed and routed" (mandatory + returns), which no library enforces.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private stopping = false;
  private running?: Promise<void>;
  private leader = false;
  private readonly broker: AmqpBroker;
  /** Aborted when the relay stops: ends a backoff in progress. */
  private readonly stopped = new AbortController();

  constructor(
    @Inject(COMMAND_SERVICE_CONFIG)
    private readonly config: CommandServiceConfig,
    private readonly store: OrderEventStore,
    private readonly checkpoint: RelayCheckpoint,
    private readonly signal: CommitSignal,
    private readonly metrics: OutboxMetrics,
  ) {
    this.broker = amqpBrokerOf(config.RABBITMQ_URL);
  }

  get isLeader(): boolean {
    return this.leader;
  }

  onApplicationBootstrap(): void {
    if (this.config.RELAY_ENABLED) this.running = this.runUntilStopped();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.stopped.abort();
    this.signal.wake();
    await this.running;
  }

  private async runUntilStopped(): Promise<void> {
    let backoff = 100;
    while (!this.stopping) {
      try {
        await this.leadWhileHealthy();
        backoff = 100;
      } catch (error) {
        this.logger.error(`relay stopped: ${(error as Error).message}; retrying in ${backoff} ms`);
        await this.backOff(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }

  /** Becomes the leader, then publishes until stopped or a connection fails. */
  private async leadWhileHealthy(): Promise<void> {
    const lockClient = new Client({
      connectionString: this.config.DATABASE_URL,
    });
    let failure: Error | undefined;
    lockClient.on('error', (error) => (failure = error));
    lockClient.on('notification', () => this.signal.wake());
    let amqp: ChannelModel | undefined;
    try {
      await lockClient.connect();
      if (!(await this.waitForLeadership(lockClient, () => failure))) return;
      await lockClient.query(`LISTEN ${COMMIT_CHANNEL}`);
      amqp = await connect(this.config.RABBITMQ_URL);
      amqp.on('error', (error: Error) => (failure = error));
      amqp.on('close', () => (failure ??= new Error('RabbitMQ connection closed')));
      const channel = await amqp.createConfirmChannel();
      channel.on('error', (error: Error) => (failure = error));
      await channel.assertExchange(ORDERS_EVENTS_EXCHANGE, 'topic', {
        durable: true,
      });
      this.setLeader(true);
      this.logger.log('relay is the active publisher');
      await this.publishUntilStopped(channel, () => failure);
    } finally {
      this.setLeader(false);
      await amqp?.close().catch(() => undefined);
      // Closing the session releases the advisory lock for the next replica.
      await lockClient.end().catch(() => undefined);
    }
  }

  private async waitForLeadership(client: Client, failure: () => Error | undefined) {
    while (!this.stopping) {
      const failed = failure();
      if (failed) throw failed;
      const result = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock($1) AS locked',
        [RELAY_LEADER_LOCK],
      );
      if (result.rows[0]?.locked) return true;
      await this.signal.wait(this.config.RELAY_POLL_INTERVAL_MS);
    }
    return false;
  }

  private async publishUntilStopped(
    channel: ConfirmChannel,
    failure: () => Error | undefined,
  ): Promise<void> {
    const returned = new Set<string>();
    channel.on('return', (message: { properties: { messageId?: string } }) => {
      if (message.properties.messageId) returned.add(message.properties.messageId);
    });
    let position = await this.checkpoint.load();
    let unroutableBackoff = 500;
    // Reads run ahead of the loop; a read nobody awaits any more must not reject unhandled.
    const readAfter = (after: bigint) => {
      const reading = this.store.readFeed(after, this.config.RELAY_BATCH_SIZE);
      reading.catch(() => undefined);
      return reading;
    };
    let next = readAfter(position);
    while (!this.stopping) {
      const failed = failure();
      if (failed) throw failed;
      const batch = await next;
      const read = batch.at(-1)?.envelope.position;
      if (read === undefined) {
        await this.signal.wait(this.config.RELAY_POLL_INTERVAL_MS);
        next = readAfter(position);
        continue;
      }
      returned.clear();
      const spans: Span[] = [];
      try {
        for (const event of batch) spans.push(publish(channel, event, this.broker));
        // The next batch is read while the broker confirms this one; it is read again from
        // the checkpoint if this one does not go through whole.
        next = readAfter(BigInt(read));
        await channel.waitForConfirms();
      } catch (error) {
        for (const span of spans) endPublishSpan(span, error);
        throw error;
      }
      // The broker returns an unroutable mandatory message before confirming it.
      const firstReturned = batch.findIndex((e) => returned.has(e.envelope.eventId));
      spans.forEach((span, i) =>
        endPublishSpan(span, i === firstReturned ? new UnroutableEvent() : undefined),
      );
      const unroutable = batch[firstReturned]?.envelope;
      const confirmed = unroutable ? batch.slice(0, firstReturned) : batch;
      const last = confirmed.at(-1);
      if (last) {
        position = BigInt(last.envelope.position);
        await this.checkpoint.save(position);
        this.metrics.published.inc(confirmed.length);
      }
      if (unroutable) {
        this.metrics.unroutable.inc();
        this.logger.error(
          `event ${unroutable.eventId} (${unroutable.type}) is unroutable: no queue is bound for ` +
            `${routingKeyOf(unroutable.type)}; it stays unpublished, retrying in ${unroutableBackoff} ms`,
        );
        await this.backOff(unroutableBackoff);
        unroutableBackoff = Math.min(unroutableBackoff * 2, MAX_BACKOFF_MS);
        next = readAfter(position);
      } else {
        unroutableBackoff = 500;
      }
    }
  }

  /**
   * Sleeps `ms`, or until the relay stops. Not on the commit signal: under steady load a
   * commit comes every few milliseconds, and each one cut the backoff short, so the relay
   * published an unroutable batch again at the commit rate.
   */
  private backOff(ms: number): Promise<void> {
    return sleep(ms, undefined, { signal: this.stopped.signal }).catch(() => undefined);
  }

  private setLeader(leader: boolean): void {
    this.leader = leader;
    this.signal.setLocalRelayLeads(leader);
  }
}

/** Publishes in a PRODUCER span that is a child of the command's span stored with the event. */
function publish(
  channel: ConfirmChannel,
  { envelope, traceparent }: StoredEvent,
  broker: AmqpBroker,
): Span {
  const routingKey = routingKeyOf(envelope.type);
  const span = startAmqpPublishSpan(
    {
      exchange: ORDERS_EVENTS_EXCHANGE,
      routingKey,
      messageId: envelope.eventId,
      correlationId: envelope.correlationId,
    },
    broker,
    traceparent,
  );
  channel.publish(ORDERS_EVENTS_EXCHANGE, routingKey, Buffer.from(JSON.stringify(envelope)), {
    persistent: true,
    mandatory: true,
    contentType: 'application/json',
    messageId: envelope.eventId,
    type: envelope.type,
    correlationId: envelope.correlationId,
    timestamp: Math.floor(Date.parse(envelope.occurredAt) / 1000),
    headers: {
      [ORDER_ID_HEADER]: envelope.orderId,
      // The publish span's context; with tracing off, the stored traceparent as it came.
      ...traceHeadersOf(span, traceparent),
    },
  });
  return span;
}

class UnroutableEvent extends Error {
  readonly code = 'unroutable';
}

function endPublishSpan(span: Span, error: unknown): void {
  if (error !== undefined) recordFailure(span, error);
  span.end();
}
