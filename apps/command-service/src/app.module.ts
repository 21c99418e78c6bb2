import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import {
  authSettingsOf,
  HttpPlatformModule,
  ORDER_SCOPES,
  ProblemDetailsFilter,
} from '@orders/platform';
import { DataSource } from 'typeorm';
import { COMMAND_SERVICE_CONFIG, type CommandServiceConfig } from './config/command-service.config';
import {
  createDataSource,
  ensureDatabaseExists,
  requireCurrentSchema,
  runMigrations,
} from './database/data-source';
import { EventsFeedController } from './event-store/events-feed.controller';
import { OrderEventStore } from './event-store/order-event-store';
import { SnapshotStore } from './event-store/snapshot-store';
import { HealthController } from './health/health.controller';
import { orderCommandHandlers } from './orders/commands';
import { IdempotencyCleanup } from './idempotency/idempotency-cleanup';
import { IdempotencyStore } from './idempotency/idempotency-store';
import { GroupCommit } from './orders/commands/group-commit';
import { OrderCommandRunner } from './orders/commands/order-command.runner';
import { OrderRepository } from './orders/order.repository';
import { commandProblem } from './orders/order-problems';
import { OrdersController } from './orders/http/orders.controller';
import { OrderCommandMessageRouter } from './orders/messaging/order-command-message.router';
import { OrdersCommandsConsumer } from './orders/messaging/orders-commands.consumer';
import { PaymentSucceededConsumer } from './orders/messaging/payment-succeeded.consumer';
import { CommitSignal } from './outbox/commit-signal';
import { OutboxRelay } from './outbox/outbox-relay';
import { OutboxMetrics } from './outbox/outbox.metrics';
import { RelayCheckpoint } from './outbox/relay-checkpoint';

@Module({})
export class CommandServiceModule {
  static forConfig(config: CommandServiceConfig): DynamicModule {
    return {
      module: CommandServiceModule,
      imports: [
        CqrsModule.forRoot(),
        HttpPlatformModule.forRoot({
          serviceName: 'command-service',
          logLevel: config.LOG_LEVEL,
          auth: authSettingsOf(config),
          defaultScope: ORDER_SCOPES.write,
          rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
        }),
      ],
      controllers: [OrdersController, EventsFeedController, HealthController],
      providers: [
        { provide: COMMAND_SERVICE_CONFIG, useValue: config },
        {
          provide: DataSource,
          useFactory: async () => {
            if (config.MIGRATIONS_AT_START) await ensureDatabaseExists(config.DATABASE_URL);
            const dataSource = createDataSource(config.DATABASE_URL, config.DATABASE_POOL_SIZE);
            await dataSource.initialize();
            try {
              if (config.MIGRATIONS_AT_START) await runMigrations(dataSource);
              else await requireCurrentSchema(dataSource);
            } catch (error) {
              await dataSource.destroy();
              throw error;
            }
            return dataSource;
          },
        },
        {
          provide: APP_FILTER,
          useValue: new ProblemDetailsFilter(commandProblem),
        },
        OrderEventStore,
        SnapshotStore,
        OrderRepository,
        OrderCommandRunner,
        GroupCommit,
        IdempotencyStore,
        IdempotencyCleanup,
        CommitSignal,
        RelayCheckpoint,
        OutboxRelay,
        OutboxMetrics,
        OrderCommandMessageRouter,
        OrdersCommandsConsumer,
        PaymentSucceededConsumer,
        ...orderCommandHandlers,
      ],
    };
  }
}
