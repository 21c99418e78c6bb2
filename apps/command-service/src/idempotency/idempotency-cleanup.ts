import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import {
  COMMAND_SERVICE_CONFIG,
  type CommandServiceConfig,
} from '../config/command-service.config';
import { IdempotencyStore } from './idempotency-store';

const CLEANUP_INTERVAL_MS = 10 * 60_000;

/** Forgets idempotency keys past their retention; every replica may run it, it is a DELETE. */
@Injectable()
export class IdempotencyCleanup implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(IdempotencyCleanup.name);
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(COMMAND_SERVICE_CONFIG) private readonly config: CommandServiceConfig,
    private readonly store: IdempotencyStore,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.removeExpired(), CLEANUP_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async removeExpired(): Promise<number> {
    try {
      const removed = await this.store.removeOlderThan(this.config.IDEMPOTENCY_RETENTION_HOURS);
      if (removed > 0) this.logger.log(`forgot ${removed} idempotency keys`);
      return removed;
    } catch (error) {
      this.logger.warn(`idempotency cleanup failed: ${(error as Error).message}`);
      return 0;
    }
  }
}
