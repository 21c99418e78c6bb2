import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Gauge, register } from 'prom-client';
import { DeadLetterStore } from './dead-letter.store';

const DEAD_LETTERS_METRIC = 'orders_dead_letters';

/** Dead-letter depth (§8): messages waiting for an operator, counted on scrape. */
@Injectable()
export class DeadLetterMetrics implements OnModuleDestroy {
  private readonly gauge: Gauge;

  constructor(store: DeadLetterStore) {
    // Counts this app's read store: replace one left by an earlier app in this process.
    register.removeSingleMetric(DEAD_LETTERS_METRIC);
    this.gauge = new Gauge({
      name: DEAD_LETTERS_METRIC,
      help: 'Messages the projection gave up on, waiting in /admin/dead-letters',
      async collect() {
        try {
          this.set(await store.count());
        } catch {
          // No sample rather than a stale one while the read store is unreachable.
          this.reset();
        }
      },
    });
  }

  onModuleDestroy(): void {
    if (register.getSingleMetric(DEAD_LETTERS_METRIC) === this.gauge) {
      register.removeSingleMetric(DEAD_LETTERS_METRIC);
    }
  }
}
