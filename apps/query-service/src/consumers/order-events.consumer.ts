import { Inject, Injectable, Logger } from '@nestjs/common';
import { ORDER_ID_HEADER, parseEventEnvelope, type EventEnvelope } from '@orders/contracts';
import {
  backoffMs,
  deliveryCountOf,
  ManagedQueueConsumer,
  messageOf,
  type Delivery,
} from '@orders/platform';
import { inChildSpan } from '@orders/platform/tracing';
import type { Channel, ConsumeMessage } from 'amqplib';
import { setTimeout as sleep } from 'node:timers/promises';
import { QUERY_SERVICE_CONFIG, type QueryServiceConfig } from '../config/query-service.config';
import { OrderVersionNotifier } from '../consistency/order-version.notifier';
import { OrderViewProjectionError, orderViewIdOf } from '../projections/order-view.projection';
import { ReadModelGenerations } from '../read-store/read-model-generations';
import { LiveViews } from '../read-store/live-views';
import { isReadStoreUnavailable } from '../read-store/read-store-unavailable';
import type { ReadModelCollections } from '../read-store/read-model.collections';
import { ReadModelWriter, type OrderRunResult } from '../read-store/read-model.writer';
import { isSwitchMarker, parseSwitchMarker } from '../rebuild/read-model-switch.message';
import { ReadModelSwitcher } from '../rebuild/read-model.switcher';
import {
  assertOrderEventsTopology,
  orderEventsTopologyOf,
  type OrderEventsTopology,
} from './order-events.topology';
import { traceOrderEventDelivery } from './order-event-delivery.tracing';
import { PerOrderRuns } from './per-order.runs';
import { ProjectionLagMonitor } from './projection-lag.monitor';
import { ProjectionMetrics } from './projection.metrics';

const READ_STORE_BACKOFF = { baseMs: 100, maxMs: 5_000 };
const GAP_REQUEUE_BACKOFF = { baseMs: 50, maxMs: 2_000 };

/** A delivered event waiting for, or in, its order's run. */
interface HeldEvent {
  delivery: Delivery;
  envelope: EventEnvelope;
}

/** How a held event was settled, the projection span's `orders.projection.outcome`. */
type Settlement = 'applied' | 'duplicate' | 'gap' | 'dead_lettered' | 'requeued' | 'returned';

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
  /** One run per order at a time: the events of an order that queue meanwhile go together. */
  private readonly runs = new PerOrderRuns<HeldEvent, Settlement>((events) =>
    this.applyRun(events),
  );
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
    const attributes = {
      'orders.order_id': envelope.orderId,
      'orders.event_type': envelope.type,
      'orders.event_version': envelope.version,
    };
    await traceOrderEventDelivery(message, this.topology.queue, () =>
      inChildSpan(`project ${envelope.type}`, attributes, async (span) => {
        const settlement = await this.runs.submit(orderViewIdOf(envelope.orderId), {
          delivery,
          envelope,
        });
        span.setAttribute('orders.projection.outcome', settlement);
      }),
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
      await this.runs.drain();
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

  /**
   * Applies a run of one order's held events with one view write and settles each: ack what
   * is applied (or was already), requeue with a delay what waits for an earlier version.
   * While the read store is down it retries in place.
   */
  private async applyRun(held: HeldEvent[]): Promise<Settlement[]> {
    const settled = new Map<HeldEvent, Settlement>();
    for (let failures = 1; ; failures += 1) {
      for (const event of held) {
        if (!settled.has(event) && !event.delivery.channelOpen) this.returned(event, settled);
      }
      const open = held.filter((event) => !settled.has(event));
      if (open.length === 0) break;
      let target: ReadModelCollections;
      let result: OrderRunResult;
      try {
        target = await this.currentWriteTarget();
        result = await this.writer.applyLiveRun(
          target,
          open.map((event) => event.envelope),
        );
      } catch (error) {
        // It may have been written all the same: the store decides from now on.
        this.liveViews.forget(orderViewIdOf(held[0]?.envelope.orderId ?? ''));
        // Stopping: the broker takes back what is unsettled when the channel closes.
        if (open[0]?.delivery.stopping.aborted) break;
        if (isReadStoreUnavailable(error)) {
          // Keep the messages unacked and retry here rather than spend their bounded
          // redeliveries on an outage.
          this.logger.warn(
            `applying ${open.map((event) => describe(event.envelope)).join(', ')} failed (attempt ${failures}): ${messageOf(error)}`,
          );
          await sleep(backoffMs(failures, READ_STORE_BACKOFF), undefined, {
            signal: open[0]?.delivery.stopping,
          }).catch(() => undefined);
          continue;
        }
        if (open.length > 1) {
          // Which event is at fault? Each one alone, in version order, says.
          for (const event of [...open].sort((a, b) => a.envelope.version - b.envelope.version)) {
            const [settlement] = await this.applyRun([event]);
            if (settlement) settled.set(event, settlement);
          }
          break;
        }
        const [only] = open as [HeldEvent];
        const { delivery, envelope } = only;
        if (error instanceof OrderViewProjectionError) {
          this.metrics.countEvent('dead_lettered', envelope.type);
          this.logRefused(delivery.message, error.message);
          delivery.deadLetter();
          settled.set(only, 'dead_lettered');
          break;
        }
        // Anything else may fail again the same way: bounded by the delivery limit, like a gap.
        this.logger.error(`applying ${describe(envelope)} failed: ${messageOf(error)}`);
        this.requeueAfterDelay(delivery, describe(envelope));
        settled.set(only, 'requeued');
        break;
      }
      this.settleRun(target, result, open, settled);
      break;
    }
    return held.map((event) => settled.get(event) ?? 'returned');
  }

  private settleRun(
    target: ReadModelCollections,
    result: OrderRunResult,
    events: HeldEvent[],
    settled: Map<HeldEvent, Settlement>,
  ): void {
    const applied = new Set(result.applied);
    const waiting = new Set(result.waiting);
    if (applied.size > 0 && result.view !== null) {
      this.metrics.countViewWrite(applied.size);
      // A session that ended meanwhile no longer speaks for the store.
      if (events.every((event) => event.delivery.channelOpen)) {
        this.liveViews.record(target.generation, result.view);
      } else this.liveViews.forget(result.orderId);
      this.notifier.notifyOrderVersion(result.orderId, result.version);
    } else this.liveViews.forget(result.orderId);
    for (const event of events) {
      const { delivery, envelope } = event;
      if (applied.has(envelope)) {
        delivery.ack();
        const occurredAt = Date.parse(envelope.occurredAt);
        this.metrics.countApplied(envelope.type, occurredAt);
        this.lag.recordApplied(occurredAt);
        settled.set(event, 'applied');
      } else if (waiting.has(envelope)) {
        this.metrics.countEvent('gap', envelope.type);
        this.requeueAfterDelay(delivery, `${describe(envelope)} waits for v${result.version + 1}`);
        settled.set(event, 'gap');
      } else {
        delivery.ack();
        this.metrics.countEvent('duplicate', envelope.type);
        settled.set(event, 'duplicate');
      }
    }
  }

  /**
   * Each return counts toward the queue's delivery limit, like a requeue: say so, or an event
   * dead-lettered after returns alone leaves no line about its order.
   */
  private returned(event: HeldEvent, settled: Map<HeldEvent, Settlement>): void {
    settled.set(event, 'returned');
    this.logger.warn(
      `${describe(event.envelope)} goes back unapplied: its channel closed (delivery ${deliveryCountOf(event.delivery.message) + 1})`,
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
