import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { collectDefaultMetrics, register } from 'prom-client';

/** `GET /metrics` in Prometheus text format: the default registry, process metrics included. */
@Controller('metrics')
export class MetricsController {
  constructor() {
    if (!register.getSingleMetric('process_cpu_user_seconds_total')) collectDefaultMetrics();
  }

  @Get()
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    const text = await register.metrics();
    await reply.status(200).header('Content-Type', register.contentType).send(text);
  }
}
