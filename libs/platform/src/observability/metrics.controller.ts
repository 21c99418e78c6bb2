import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import { collectDefaultMetrics, register } from 'prom-client';

/** `GET /metrics` in Prometheus text format: the default registry, process metrics included. */
@Controller('metrics')
export class MetricsController {
  constructor() {
    if (!register.getSingleMetric('process_cpu_user_seconds_total')) collectDefaultMetrics();
  }

  @Get()
  async scrape(@Res() response: Response): Promise<void> {
    const text = await register.metrics();
    response.status(200).setHeader('Content-Type', register.contentType);
    response.send(text);
  }
}
