import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { EVENT_AGE_BUCKETS, sharedMetric } from '@orders/platform';
import { Counter, Gauge, Histogram, register } from 'prom-client';
import { DataSource } from 'typeorm';
import { CHECKPOINT_NAME } from './relay-checkpoint';

/** Counting stops here: past it, the gauge says "at least this many". */
const BACKLOG_COUNT_LIMIT = 100_000;
const BACKLOG_METRIC = 'orders_outbox_backlog_events';
const AGE_METRIC = 'orders_outbox_oldest_unpublished_age_seconds';

interface BacklogSample {
  backlog: number;
  oldestAgeSeconds: number;
}

/**
 * The outbox as Prometheus sees it: committed events past the relay's checkpoint and the age
 * of the oldest one (read from PostgreSQL on scrape, one indexed query), and what the relay
 * published or could not route.
 */
@Injectable()
export class OutboxMetrics implements OnModuleDestroy {
  private readonly logger = new Logger(OutboxMetrics.name);
  readonly published = sharedMetric(
    'orders_events_published_total',
    () =>
      new Counter({
        name: 'orders_events_published_total',
        help: 'Events the relay published to orders.events and the broker confirmed',
      }),
  );
  readonly unroutable = sharedMetric(
    'orders_relay_unroutable_total',
    () =>
      new Counter({
        name: 'orders_relay_unroutable_total',
        help: 'Publish attempts the broker returned as unroutable (no queue bound)',
      }),
  );
  /** How far publishing trails the commits: observed per event as the broker confirms it. */
  readonly publishedAge = sharedMetric(
    'orders_relay_event_age_seconds',
    () =>
      new Histogram({
        name: 'orders_relay_event_age_seconds',
        help: 'Seconds from an event occurring (its occurredAt) to the broker confirming its publish',
        buckets: EVENT_AGE_BUCKETS,
      }),
  );
  private readonly gauges: [string, Gauge][];
  private sampling: { at: number; sample: Promise<BacklogSample | undefined> } | undefined;

  constructor(private readonly dataSource: DataSource) {
    // These read this app's database: replace any left by an earlier app in this process.
    register.removeSingleMetric(BACKLOG_METRIC);
    register.removeSingleMetric(AGE_METRIC);
    const sample = () => this.sample();
    const backlog = new Gauge({
      name: BACKLOG_METRIC,
      help: `Committed events not yet published (counted up to ${BACKLOG_COUNT_LIMIT})`,
      async collect() {
        const value = await sample();
        if (value) this.set(value.backlog);
        else this.reset();
      },
    });
    const age = new Gauge({
      name: AGE_METRIC,
      help: 'Age of the oldest committed event not yet published (0 when none)',
      async collect() {
        const value = await sample();
        if (value) this.set(value.oldestAgeSeconds);
        else this.reset();
      },
    });
    this.gauges = [
      [BACKLOG_METRIC, backlog],
      [AGE_METRIC, age],
    ];
  }

  onModuleDestroy(): void {
    for (const [name, gauge] of this.gauges) {
      if (register.getSingleMetric(name) === gauge) register.removeSingleMetric(name);
    }
  }

  /** One query serves both gauges of a scrape; a failed one leaves them without a sample. */
  private sample(): Promise<BacklogSample | undefined> {
    const now = Date.now();
    if (!this.sampling || now - this.sampling.at > 1000) {
      this.sampling = { at: now, sample: this.query() };
    }
    return this.sampling.sample;
  }

  private async query(): Promise<BacklogSample | undefined> {
    try {
      const rows: { backlog: string; oldest_age: number | null }[] = await this.dataSource.query(
        `WITH checkpoint AS (
           SELECT coalesce((SELECT position FROM relay_checkpoints WHERE name = $1), 0) AS position
         )
         SELECT
           (SELECT count(*) FROM (
              SELECT 1 FROM order_events WHERE position > (SELECT position FROM checkpoint)
              LIMIT ${BACKLOG_COUNT_LIMIT}) AS pending
           )::text AS backlog,
           (SELECT extract(epoch FROM now() - occurred_at)::float8 FROM order_events
             WHERE position > (SELECT position FROM checkpoint)
             ORDER BY position LIMIT 1) AS oldest_age`,
        [CHECKPOINT_NAME],
      );
      const row = rows[0];
      return {
        backlog: Number(row?.backlog ?? 0),
        oldestAgeSeconds: Math.max(0, row?.oldest_age ?? 0),
      };
    } catch (error) {
      this.logger.warn(`outbox metrics not read: ${(error as Error).message}`);
      return undefined;
    }
  }
}
