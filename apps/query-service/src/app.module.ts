import { Module, type DynamicModule } from '@nestjs/common';
import { QueryServiceConfigModule } from './config/query-service-config.module';
import type { QueryServiceConfig } from './config/query-service.config';
import { ConsumersModule } from './consumers/consumers.module';
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
        HealthModule,
      ],
    };
  }
}
