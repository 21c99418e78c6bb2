import { Module, type DynamicModule } from '@nestjs/common';
import { HttpPlatformModule, ORDER_SCOPES } from '@orders/platform';
import { QueryServiceConfigModule } from './config/query-service-config.module';
import type { QueryServiceConfig } from './config/query-service.config';
import { ConsumersModule } from './consumers/consumers.module';
import { DeadLetterMetrics } from './dead-letters/dead-letters.metrics';
import { DeadLettersModule } from './dead-letters/dead-letters.module';
import { HealthModule } from './health/health.module';
import { QueriesModule } from './queries/queries.module';

@Module({})
export class AppModule {
  /** The whole query service for one configuration, so tests can run it against their own vhost and database. */
  static forRoot(config: QueryServiceConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        QueryServiceConfigModule.forRoot(config),
        ConsumersModule,
        QueriesModule,
        DeadLettersModule,
        HealthModule,
        HttpPlatformModule.forRoot({
          serviceName: 'query-service',
          logLevel: config.logLevel,
          auth: config.auth,
          defaultScope: ORDER_SCOPES.read,
          rateLimitPerMinute: config.rateLimitPerMinute,
        }),
      ],
      providers: [DeadLetterMetrics],
    };
  }
}
