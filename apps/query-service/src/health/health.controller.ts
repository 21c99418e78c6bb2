import { Controller, Get, HttpCode, HttpStatus, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { QUERY_SERVICE_CONFIG, type QueryServiceConfig } from '../config/query-service.config';
import { OrderEventsConsumer } from '../consumers/order-events.consumer';
import { ProjectionLagMonitor } from '../consumers/projection-lag.monitor';
import { ReadStore } from '../read-store/read-store.service';

type CheckResult = { status: 'up' } | { status: 'down'; reason: string };

const CHECK_TIMEOUT_MS = 1000;

@Controller('health')
export class HealthController {
  constructor(
    private readonly readStore: ReadStore,
    private readonly consumer: OrderEventsConsumer,
    private readonly lag: ProjectionLagMonitor,
    @Inject(QUERY_SERVICE_CONFIG) private readonly config: QueryServiceConfig,
  ) {}

  /** The process answers: nothing else is checked, so a broken dependency never restarts it. */
  @Get('live')
  @HttpCode(HttpStatus.OK)
  live(): { status: 'up' } {
    return { status: 'up' };
  }

  /**
   * Ready to serve when the read store answers, the event consumer is registered and the
   * projection is within READY_MAX_LAG_SECONDS / READY_MAX_LAG_EVENTS of the events.
   */
  @Get('ready')
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const [mongodb, rabbitmq, projection] = await Promise.all([
      this.check(() => this.readStore.ping()),
      this.check(() =>
        this.consumer.isConsuming
          ? Promise.resolve()
          : Promise.reject(new Error('not consuming order events')),
      ),
      this.check(() => this.projectionWithinBounds()),
    ]);
    const ready = [mongodb, rabbitmq, projection].every((check) => check.status === 'up');
    reply.status(ready ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return { status: ready ? 'up' : 'down', checks: { mongodb, rabbitmq, projection } };
  }

  private async projectionWithinBounds(): Promise<void> {
    const { events, seconds } = await this.lag.measure();
    const { readyMaxLagEvents, readyMaxLagSeconds } = this.config;
    if (events > readyMaxLagEvents) {
      throw new Error(`${events} events wait to be projected (bound ${readyMaxLagEvents})`);
    }
    if (seconds !== null && seconds > readyMaxLagSeconds) {
      throw new Error(
        `projection is ${Math.round(seconds)} s behind (bound ${readyMaxLagSeconds} s)`,
      );
    }
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
