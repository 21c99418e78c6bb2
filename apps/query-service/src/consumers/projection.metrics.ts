import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { EVENT_AGE_BUCKETS, eventAgeSeconds } from '@orders/platform';
import { Counter, Gauge, Histogram, register, type Metric } from 'prom-client';
import { ProjectionLagMonitor } from './projection-lag.monitor';

export type ProjectionOutcome = 'applied' | 'duplicate' | 'gap' | 'dead_lettered';

const EVENTS_METRIC = 'orders_projection_events_total';
const LAG_SECONDS_METRIC = 'orders_projection_lag_seconds';
const LAG_EVENTS_METRIC = 'orders_projection_lag_events';
const EVENT_AGE_METRIC = 'orders_projection_event_age_seconds';
const EVENTS_PER_WRITE_METRIC = 'orders_projection_events_per_write';

/** Projection throughput and lag (§8) on the default registry that `/metrics` serves. */
@Injectable()
export class ProjectionMetrics implements OnModuleDestroy {
  private readonly events: Counter<'outcome' | 'type'>;
  private readonly eventAge: Histogram;
  private readonly eventsPerWrite: Histogram;
  private readonly owned: [string, Metric][];

  constructor(lag: ProjectionLagMonitor) {
    // This app's metrics replace any an earlier app left in this process (tests start several).
    for (const name of [
      EVENTS_METRIC,
      LAG_SECONDS_METRIC,
      LAG_EVENTS_METRIC,
      EVENT_AGE_METRIC,
      EVENTS_PER_WRITE_METRIC,
    ]) {
      register.removeSingleMetric(name);
    }
    this.events = new Counter({
      name: EVENTS_METRIC,
      help: 'Event deliveries the projection handled, by outcome and event type',
      labelNames: ['outcome', 'type'],
    });
    this.eventAge = new Histogram({
      name: EVENT_AGE_METRIC,
      help: 'Seconds from an event occurring (its occurredAt) to its being applied to the read models',
      buckets: EVENT_AGE_BUCKETS,
    });
    this.eventsPerWrite = new Histogram({
      name: EVENTS_PER_WRITE_METRIC,
      help: "Events of one order applied by one view write: above 1 when an order's events queue up behind its earlier write",
      buckets: [1, 2, 4, 8, 16, 32, 64],
    });
    const lagSeconds = new Gauge({
      name: LAG_SECONDS_METRIC,
      help: 'Seconds between now and the newest applied event while events wait; 0 when caught up',
      async collect() {
        try {
          const { seconds } = await lag.measure();
          if (seconds === null) this.reset();
          else this.set(seconds);
        } catch {
          this.reset();
        }
      },
    });
    const lagEvents = new Gauge({
      name: LAG_EVENTS_METRIC,
      help: "Events waiting in the projection's queue",
      async collect() {
        try {
          this.set((await lag.measure()).events);
        } catch {
          this.reset();
        }
      },
    });
    this.owned = [
      [EVENTS_METRIC, this.events],
      [LAG_SECONDS_METRIC, lagSeconds],
      [LAG_EVENTS_METRIC, lagEvents],
      [EVENT_AGE_METRIC, this.eventAge],
      [EVENTS_PER_WRITE_METRIC, this.eventsPerWrite],
    ];
  }

  countEvent(outcome: ProjectionOutcome, type: string): void {
    this.events.inc({ outcome, type });
  }

  /** An event applied: counted, and its age observed (how far the read models trail). */
  countApplied(type: string, occurredAtMs: number): void {
    this.countEvent('applied', type);
    this.eventAge.observe(eventAgeSeconds(occurredAtMs));
  }

  /** One view write, and how many events of its order it applied. */
  countViewWrite(events: number): void {
    this.eventsPerWrite.observe(events);
  }

  onModuleDestroy(): void {
    for (const [name, metric] of this.owned) {
      if (register.getSingleMetric(name) === metric) register.removeSingleMetric(name);
    }
  }
}
