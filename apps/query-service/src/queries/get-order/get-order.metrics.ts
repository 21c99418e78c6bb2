import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Counter, register } from 'prom-client';

export type GetOrderSource = 'live_views' | 'read_store';

const READS_METRIC = 'orders_get_order_reads_total';

/** Where `GET /orders/{id}` found its answer: this replica's live views or the read store. */
@Injectable()
export class GetOrderMetrics implements OnModuleDestroy {
  private readonly reads: Counter<'source'>;

  constructor() {
    // This app's metric replaces one an earlier app left in this process (tests start several).
    register.removeSingleMetric(READS_METRIC);
    this.reads = new Counter({
      name: READS_METRIC,
      help: 'GET /orders/{id} answers by where the view came from (live_views: no read-store round trip)',
      labelNames: ['source'],
    });
  }

  countRead(source: GetOrderSource): void {
    this.reads.inc({ source });
  }

  onModuleDestroy(): void {
    if (register.getSingleMetric(READS_METRIC) === this.reads) {
      register.removeSingleMetric(READS_METRIC);
    }
  }
}
