import { Injectable } from '@nestjs/common';
import { sharedMetric } from '@orders/platform';
import { Counter } from 'prom-client';

export type GetOrderSource = 'live_views' | 'read_store';

const READS_METRIC = 'orders_get_order_reads_total';

/** Where `GET /orders/{id}` found its answer: this replica's live views or the read store. */
@Injectable()
export class GetOrderMetrics {
  private readonly reads = sharedMetric(
    READS_METRIC,
    () =>
      new Counter({
        name: READS_METRIC,
        help: 'GET /orders/{id} answers by where the view came from (live_views: no read-store round trip)',
        labelNames: ['source'],
      }),
  );

  countRead(source: GetOrderSource): void {
    this.reads.inc({ source });
  }
}
