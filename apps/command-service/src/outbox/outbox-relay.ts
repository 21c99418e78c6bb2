import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { ORDER_ID_HEADER, ORDERS_EVENTS_EXCHANGE, routingKeyOf } from '@orders/contracts';
import { eventAgeSeconds } from '@orders/platform';
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
import { CheckpointWriter, RelayCheckpoint } from './relay-checkpoint';

/** Advisory lock key: whoever holds it is the one active relay among all replicas. */
const RELAY_LEADER_LOCK = 7_310_002;
const MAX_BACKOFF_MS = 10_000;
/**
 * Batches handed to the broker before the oldest one's confirms are awaited: with one, the
 * relay sat idle while each batch was confirmed and checkpointed.
 */
const BATCHES_IN_FLIGHT = 2;
/**
 * How soon the feed is read again when committed events wait behind an older open transaction
 * (which may be no command's, or roll back: no commit signal comes when it ends). Doubles while
 * they stay held back.
 */
const HELD_BACK_RETRY_MS = { first: 5, longest: 200 };

interface BatchInFlight {
  events: StoredEvent[];
  spans: Span[];
  /** Settles once the broker has confirmed this batch and every one before it. */
  confirmed: Promise<unknown>;
}

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
      // This session writes the checkpoint (CheckpointWriter), which need not wait for a
      // WAL flush: a checkpoint lost in a crash only means publishing some events again.
      await lockClient.query('SET synchronous_commit TO off');
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
      await this.publishUntilStopped(channel, lockClient, () => failure);
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

  /**
   * Publishes batch after batch, with up to BATCHES_IN_FLIGHT handed to the broker before the
   * oldest one's confirms are awaited, and moves the checkpoint forward, in order, as the
   * confirms come in (written behind the loop, on `session`: CheckpointWriter). A batch is
   * settled only once the broker confirmed it and every batch before it, so the checkpoint
   * never passes an event that is not confirmed and routed;
   * whatever went out after an unroutable event is published again from the checkpoint
   * (consumers skip what they have).
   *
   * Reads: after a full batch the next one is read while it is confirmed. After a partial
   * batch the feed is drained, and the next read waits for a commit (or for a few milliseconds,
   * when committed events wait behind an older open transaction). Reading again at once found
   * nothing nearly every time: at 100 commands/s the relay read the feed three times per event.
   */
  private async publishUntilStopped(
    channel: ConfirmChannel,
    session: Client,
    failure: () => Error | undefined,
  ): Promise<void> {
    const returned = new Set<string>();
    channel.on('return', (message: { properties: { messageId?: string } }) => {
      if (message.properties.messageId) returned.add(message.properties.messageId);
    });
    let position = await this.checkpoint.load();
    const checkpoint = new CheckpointWriter(session, position);
    let unroutableBackoff = 500;
    const limit = this.config.RELAY_BATCH_SIZE;
    // Reads run ahead of the loop; a read nobody awaits any more must not reject unhandled.
    const readAfter = (after: bigint) => {
      const reading = this.store.readFeed(after, limit);
      reading.catch(() => undefined);
      return reading;
    };
    const inFlight: BatchInFlight[] = [];
    /** The position of the last event handed to the broker. */
    let handedOver = position;
    /** The read under way; null once a read drained the feed. */
    let next: ReturnType<typeof readAfter> | null = readAfter(position);
    /** How long to wait before reading again though no commit came; null: the poll interval. */
    let heldBackRetryMs: number | null = null;
    try {
      // On stop nothing more is read, but what is in flight is confirmed and checkpointed: a
      // successor would publish it again.
      while (!this.stopping || inFlight.length > 0) {
        const failed = failure() ?? checkpoint.failure;
        if (failed) throw failed;
        if (!this.stopping && inFlight.length < BATCHES_IN_FLIGHT) {
          if (next === null) {
            const waitMs = heldBackRetryMs ?? this.config.RELAY_POLL_INTERVAL_MS;
            // A batch in flight is settled first unless a commit comes before its confirms.
            if ((await this.signal.wait(waitMs, inFlight[0]?.confirmed)) && !this.stopping) {
              next = readAfter(handedOver);
            }
          }
          if (next !== null) {
            const { events, heldBack } = await next;
            next = null;
            // Read as the stop came: not handed over, so a successor publishes them.
            if (this.stopping) continue;
            if (!heldBack) heldBackRetryMs = null;
            else if (events.length > 0 || heldBackRetryMs === null) {
              heldBackRetryMs = HELD_BACK_RETRY_MS.first;
            } else heldBackRetryMs = Math.min(heldBackRetryMs * 2, HELD_BACK_RETRY_MS.longest);
            const last = events.at(-1)?.envelope.position;
            if (last !== undefined) {
              const spans = events.map((event) => publish(channel, event, this.broker));
              // Settles once the broker has confirmed everything published so far.
              const confirmed = channel.waitForConfirms();
              confirmed.catch(() => undefined);
              inFlight.push({ events, spans, confirmed });
              handedOver = BigInt(last);
              if (events.length >= limit) next = readAfter(handedOver);
            }
            continue;
          }
        }
        if (inFlight.length === 0) continue;
        const oldest = inFlight[0] as BatchInFlight;
        await oldest.confirmed;
        inFlight.shift();
        // The broker returns an unroutable mandatory message before confirming it.
        const firstReturned = oldest.events.findIndex((e) => returned.has(e.envelope.eventId));
        for (const event of oldest.events) returned.delete(event.envelope.eventId);
        oldest.spans.forEach((span, i) =>
          endPublishSpan(span, i === firstReturned ? new UnroutableEvent() : undefined),
        );
        const unroutable = oldest.events[firstReturned]?.envelope;
        const confirmed = unroutable ? oldest.events.slice(0, firstReturned) : oldest.events;
        const last = confirmed.at(-1);
        if (last) {
          position = BigInt(last.envelope.position);
          checkpoint.advance(position);
          this.metrics.published.inc(confirmed.length);
          const now = Date.now();
          for (const { envelope } of confirmed) {
            this.metrics.publishedAge.observe(
              eventAgeSeconds(Date.parse(envelope.occurredAt), now),
            );
          }
        }
        if (!unroutable) {
          unroutableBackoff = 500;
          continue;
        }
        // What went out after it is published again from the checkpoint.
        for (let later = inFlight[0]; later !== undefined; later = inFlight[0]) {
          await later.confirmed;
          inFlight.shift();
          later.spans.forEach((span) => endPublishSpan(span, undefined));
        }
        returned.clear();
        this.metrics.unroutable.inc();
        this.logger.error(
          `event ${unroutable.eventId} (${unroutable.type}) is unroutable: no queue is bound for ` +
            `${routingKeyOf(unroutable.type)}; it stays unpublished, retrying in ${unroutableBackoff} ms`,
        );
        await this.backOff(unroutableBackoff);
        unroutableBackoff = Math.min(unroutableBackoff * 2, MAX_BACKOFF_MS);
        handedOver = position;
        next = readAfter(position);
        heldBackRetryMs = null;
      }
      await checkpoint.settled();
    } catch (error) {
      for (const batch of inFlight) batch.spans.forEach((span) => endPublishSpan(span, error));
      throw error;
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
