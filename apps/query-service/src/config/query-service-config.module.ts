import { Global, Module, type DynamicModule } from '@nestjs/common';
import { QUERY_SERVICE_CONFIG, type QueryServiceConfig } from './query-service.config';

/** Makes the configuration validated at start injectable everywhere. */
@Global()
@Module({})
export class QueryServiceConfigModule {
  static forRoot(config: QueryServiceConfig): DynamicModule {
    return {
      module: QueryServiceConfigModule,
      providers: [{ provide: QUERY_SERVICE_CONFIG, useValue: config }],
      exports: [QUERY_SERVICE_CONFIG],
    };
  }
}
