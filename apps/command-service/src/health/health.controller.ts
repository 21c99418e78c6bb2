import { Controller, Get, HttpCode } from '@nestjs/common';
import { HttpProblem } from '@orders/platform';
import { DataSource } from 'typeorm';
import { OutboxRelay } from '../outbox/outbox-relay';

@Controller('health')
export class HealthController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly relay: OutboxRelay,
  ) {}

  @Get('live')
  @HttpCode(200)
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready() {
    try {
      await this.dataSource.query('SELECT 1');
    } catch (error) {
      throw new HttpProblem(
        503,
        'NOT_READY',
        'PostgreSQL does not answer',
        (error as Error).message,
      );
    }
    return { status: 'ok', relay: this.relay.isLeader ? 'active' : 'standby' };
  }
}
