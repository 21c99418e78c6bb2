import { Inject, Injectable, Logger } from '@nestjs/common';
import { ORDER_ID_HEADER, parseEventEnvelope, type EventEnvelope } from '@orders/contracts';
import {
  backoffMs,
  deliveryCountOf,
  ManagedQueueConsumer,
  messageOf,
  type Delivery,
} from '@orders/platform';
import type { Channel, ConsumeMessage } from 'amqplib';
import { setTimeout as sleep } from 'node:timers/promises';
import { QUERY_SERVICE_CONFIG, type QueryServiceConfig } from '../config/query-service.config';
import { OrderVersionNotifier } from '../consistency/order-version.notifier';
import { OrderViewProjectionError, orderViewIdOf } from '../projections/order-view.projection';
import { ReadModelGenerations } from '../read-store/read-model-generations';
import { LiveViews } from '../read-store/live-views';
import { isReadStoreUnavailable } from '../read-store/read-store-unavailable';
import type { ReadModelCollections } from '../read-store/read-model.collections';
import { ReadModelWriter, type ApplyOutcome } from '../read-store/read-model.writer';
import { isSwitchMarker, parseSwitchMarker } from '../rebuild/read-model-switch.message';
import { ReadModelSwitcher } from '../rebuild/read-model.switcher';
import {
  assertOrderEventsTopology,
  orderEventsTopologyOf,
  type OrderEventsTopology,
} from './order-events.topology';
import { traceOrderEventDelivery } from './order-event-delivery.tracing';
import { PerOrderSerializer } from './per-order.serializer';
import { ProjectionLagMonitor } from './projection-lag.monitor';
import { ProjectionMetrics } from './projection.metrics';

const READ_STORE_BACKOFF = { baseMs: 100, maxMs: 5_000 };
const GAP_REQUEUE_BACKOFF = { baseMs: 50, maxMs: 2_000 };

/**
 * RabbitMQ intake of the order events: validate, apply to the read model exactly once in
 * version order per order, and ack only after the MongoDB write. Connection loss, stop and
 * the close order (cancel, finish and ack what is in hand, channel, then connection) are the
 * platform's ReconnectingConsumer.
 */
@Injectable()
export class OrderEventsConsumer extends ManagedQueueConsumer {
  private readonly logger = new Logger(OrderEventsConsumer.name);
  private readonly topology: OrderEventsTopology;
  private readonly serializer = new PerOrderSerializer();
  /**
   * The generation live events are written to, read from the store (never from a cache) when
   * a consumer session starts and after a switch marker. Nothing else moves the pointer: only
   * the active consumer handles a marker, and under single-active-consumer a consumer gets
   * deliveries only once it is the active one and stays so until its session ends. So a
   * standby that missed a switch has no target yet at its first delivery, and reads the
   * pointer then. (Reading it again whenever the consumer had been idle cost one more
   * read-store round trip for nearly every event at light load.)
   */
  private writeTarget: Promise<ReadModelCollections> | null = null;
  /** While a switch marker is handled, every later delivery waits for it; null when intake flows. */
  private switching: Promise<void> | null = null;

  constructor(
    @Inject(QUERY_SERVICE_CONFIG) config: QueryServiceConfig,
    private readonly writer: ReadModelWriter,
    private readonly generations: ReadModelGenerations,
    private readonly notifier: OrderVersionNotifier,
    private readonly liveViews: LiveViews,
    private readonly switcher: ReadModelSwitcher,
    private readonly metrics: ProjectionMetrics,
    private readonly lag: ProjectionLagMonitor,
  ) {
    const topology = orderEventsTopologyOf(config.queryQueueName);
    super({
      name: OrderEventsConsumer.name,
      connectionName: 'orders-query-service',
      url: config.rabbitmqUrl,
      queue: topology.queue,
      prefetch: config.prefetch,
    });
    this.topology = topology;
  }

  protected async declareTopology(channel: Channel): Promise<void> {
    await assertOrderEventsTopology(channel, this.topology);
    this.writeTarget = null;
    this.liveViews.clear();
  }

  protected override sessionEnded(): void {
    this.liveViews.clear();
  }

  protected handleDelivery(delivery: Delivery): Promise<void> {
    return this.onDelivery(delivery);
  }

  private async onDelivery(delivery: Delivery): Promise<void> {
    // Held back behind a switch marker; reactions run in arrival order, so order is kept.
    while (this.switching !== null) {
      await this.switching;
      // Stopping: the broker takes back what was held when the channel closes.
      if (delivery.stopping.aborted) return;
    }
    const { message } = delivery;
    if (isSwitchMarker(message)) {
      const switching = this.switchReadModels(delivery).finally(() => {
        if (this.switching === switching) this.switching = null;
      });
      this.switching = switching;
      return switching;
    }
    const envelope = this.parseDelivery(message);
    if (envelope === null) {
      this.metrics.countEvent('dead_lettered', 'invalid');
      delivery.deadLetter();
      return;
    }
    await this.serializer.runInOrder(orderViewIdOf(envelope.orderId), () =>
      traceOrderEventDelivery(message, this.topology.queue, () =>
        this.applyDelivery(delivery, envelope),
      ),
    );
  }

  /**
   * A rebuild's switch marker: hold back every later delivery, let the earlier ones finish on
   * the current generation, have the switcher catch the new generation up and activate it,
   * then let the held deliveries through (to whichever generation is active now). Being the
   * active consumer is what makes this replica the one that switches.
   */
  private async switchReadModels(delivery: Delivery): Promise<void> {
    const { message } = delivery;
    let settlement: 'ack' | 'dead-letter' | 'retry' = 'retry';
    try {
      const marker = parseSwitchMarker(message);
      if (marker === null) {
        this.logRefused(message, 'not a valid read-model switch marker');
        settlement = 'dead-letter';
        return;
      }
      await this.serializer.drain();
      if (!delivery.channelOpen) return;
      const result = await this.switcher.completeSwitch(marker, delivery.stopping);
      this.logger.log(`switch marker for generation ${marker.generation}: ${result}`);
      settlement = 'ack';
    } catch (error) {
      if (!delivery.stopping.aborted) {
        this.logger.warn(`handling a switch marker failed: ${messageOf(error)}; it will come back`);
      }
    } finally {
      this.writeTarget = null;
      if (settlement === 'ack') delivery.ack();
      else if (settlement === 'dead-letter') delivery.deadLetter();
      else this.requeueAfterDelay(delivery, 'switch marker');
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

  private async applyDelivery(delivery: Delivery, envelope: EventEnvelope): Promise<void> {
    const { message } = delivery;
    for (let failures = 1; delivery.channelOpen; failures += 1) {
      let outcome: ApplyOutcome;
      let target: ReadModelCollections;
      try {
        target = await this.currentWriteTarget();
        outcome = await this.writer.applyOrderEvent(target, envelope);
      } catch (error) {
        // It may have been written all the same: the store decides from now on.
        this.liveViews.forget(orderViewIdOf(envelope.orderId));
        if (error instanceof OrderViewProjectionError) {
          this.metrics.countEvent('dead_lettered', envelope.type);
          this.logRefused(message, error.message);
          delivery.deadLetter();
          return;
        }
        if (delivery.stopping.aborted) return;
        if (isReadStoreUnavailable(error)) {
          // The read store is unreachable: keep the message unacked and retry here rather than
          // spend its bounded redeliveries on an outage. On shutdown the broker takes it back.
          this.logger.warn(
            `applying ${describe(envelope)} failed (attempt ${failures}): ${messageOf(error)}`,
          );
          await sleep(backoffMs(failures, READ_STORE_BACKOFF), undefined, {
            signal: delivery.stopping,
          }).catch(() => undefined);
          continue;
        }
        // Anything else may fail again the same way: bounded by the delivery limit, like a gap.
        this.logger.error(`applying ${describe(envelope)} failed: ${messageOf(error)}`);
        this.requeueAfterDelay(delivery, describe(envelope));
        return;
      }
      switch (outcome.kind) {
        case 'applied': {
          delivery.ack();
          const occurredAt = Date.parse(envelope.occurredAt);
          this.metrics.countApplied(envelope.type, occurredAt);
          this.lag.recordApplied(occurredAt);
          // A session that ended meanwhile no longer speaks for the store.
          if (delivery.channelOpen) this.liveViews.record(target.generation, outcome.view);
          this.notifier.notifyOrderVersion(outcome.orderId, outcome.version);
          return;
        }
        case 'duplicate':
          this.liveViews.forget(outcome.orderId);
          delivery.ack();
          this.metrics.countEvent('duplicate', envelope.type);
          return;
        case 'gap':
          this.metrics.countEvent('gap', envelope.type);
          this.requeueAfterDelay(
            delivery,
            `${describe(envelope)} waits for v${outcome.version + 1}`,
          );
          return;
        default: {
          const unhandled: never = outcome;
          throw new Error(`unhandled outcome ${JSON.stringify(unhandled)}`);
        }
      }
    }
    // Each return counts toward the queue's delivery limit, like a requeue: say so, or an
    // event dead-lettered after returns alone leaves no line about its order.
    this.logger.warn(
      `${describe(envelope)} goes back unapplied: its channel closed (delivery ${deliveryCountOf(message) + 1})`,
    );
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
  private requeueAfterDelay(delivery: Delivery, why: string): void {
    const deliveries = deliveryCountOf(delivery.message) + 1;
    const delayMs = backoffMs(deliveries, GAP_REQUEUE_BACKOFF);
    this.logger.warn(`${why} (delivery ${deliveries}); requeueing in ${delayMs} ms`);
    delivery.requeueAfter(delayMs);
  }

  private logRefused(message: ConsumeMessage, reason: string): void {
    const messageId = String(message.properties.messageId ?? '(none)');
    // The relay's header, so that a search of the logs for an order finds its refused events.
    const orderId: unknown = message.properties.headers?.[ORDER_ID_HEADER];
    const ofOrder = typeof orderId === 'string' ? ` of order ${orderId.slice(0, 100)}` : '';
    this.logger.error(
      `dead-lettering message ${messageId} (${message.fields.routingKey}${ofOrder}) to ${this.topology.deadLetterQueue}: ${reason.slice(0, 1000)}`,
    );
  }
}

function describe(envelope: EventEnvelope): string {
  return `${envelope.type} v${envelope.version} of order ${envelope.orderId}`;
}
