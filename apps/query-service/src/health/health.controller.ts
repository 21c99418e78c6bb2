import { Controller, Get, HttpCode, HttpStatus, Res } from '@nestjs/common';
import type { Response } from 'express';
import { OrderEventsConsumer } from '../consumers/order-events.consumer';
import { ReadStore } from '../read-store/read-store.service';

type CheckResult = { status: 'up' } | { status: 'down'; reason: string };

const CHECK_TIMEOUT_MS = 1000;

@Controller('health')
export class HealthController {
  constructor(
    private readonly readStore: ReadStore,
    private readonly consumer: OrderEventsConsumer,
  ) {}

  /** The process answers: nothing else is checked, so a broken dependency never restarts it. */
  @Get('live')
  @HttpCode(HttpStatus.OK)
  live(): { status: 'up' } {
    return { status: 'up' };
  }

  /** Ready to serve when the read store answers and the event consumer is registered. */
  @Get('ready')
  async ready(@Res({ passthrough: true }) response: Response) {
    const [mongodb, rabbitmq] = await Promise.all([
      this.check(() => this.readStore.ping()),
      this.check(() =>
        this.consumer.isConsuming
          ? Promise.resolve()
          : Promise.reject(new Error('not consuming order events')),
      ),
    ]);
    const ready = mongodb.status === 'up' && rabbitmq.status === 'up';
    response.status(ready ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return { status: ready ? 'up' : 'down', checks: { mongodb, rabbitmq } };
  }

  private async check(probe: () => Promise<void>): Promise<CheckResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
        CHECK_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([probe(), timeout]);
      return { status: 'up' };
    } catch (error) {
      return { status: 'down', reason: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
    }
  }
}
