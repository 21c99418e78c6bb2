import type { LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHttpAdapter, ProblemDetailsFilter, useHttpPlatform } from '@orders/platform';
import type { AddressInfo } from 'node:net';
import { AppModule } from './app.module';
import { loadQueryServiceConfig, type QueryServiceConfig } from './config/query-service.config';
import { queryApi } from './http/query-api.openapi';
import { translateQueryError } from './http/query-problem.translator';

export interface QueryServiceOptions {
  /** Wins over the environment; e.g. `{ port: 0, mongodbUrl, rabbitmqUrl }` in tests. */
  config?: Partial<QueryServiceConfig>;
  /** Replaces the JSON service logger, which then stays silent; `false` for no logs at all. */
  logger?: LoggerService | LogLevel[] | false;
  /**
   * Nest's own SIGTERM/SIGINT hooks (default false). main.ts runs the service under
   * runUntilSignalled instead: Nest's hooks close the application while its init still runs.
   */
  shutdownHooks?: boolean;
}

export interface RunningQueryService {
  app: NestFastifyApplication;
  config: QueryServiceConfig;
  /** Base URL on the loopback interface, with the port actually bound (useful with port 0). */
  url: string;
}

/** Starts the query service: validated config, read store, event consumer, then HTTP. */
export async function bootstrapQueryService(
  options: QueryServiceOptions = {},
): Promise<RunningQueryService> {
  const config = loadQueryServiceConfig(options.config);
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config),
    createHttpAdapter({ trustProxy: config.trustProxy }),
    {
      ...(options.logger === undefined ? { bufferLogs: true } : { logger: options.logger }),
      bodyParser: false,
    },
  );
  useHttpPlatform(app, queryApi, { jsonLogs: options.logger === undefined });
  app.useGlobalFilters(new ProblemDetailsFilter(translateQueryError));
  if (options.shutdownHooks ?? false) app.enableShutdownHooks();
  try {
    await app.listen(config.port);
  } catch (error) {
    // Release the read store and broker connections the modules already opened.
    await app.close().catch(() => undefined);
    throw error;
  }
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, config, url: `http://127.0.0.1:${port}` };
}
