// First: tracing must be started before Nest, express and pg are loaded.
import './tracing';
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { jsonBody, runUntilSignalled, useHttpPlatform } from '@orders/platform';
import { CommandServiceModule } from './app.module';
import {
  loadCommandServiceConfig,
  type CommandServiceConfig,
} from './config/command-service.config';
import { commandApi } from './orders/http/command-api.openapi';

/**
 * Builds and starts the command service; tests call this with their own configuration. The
 * caller stops it with `app.close()` (main: on SIGTERM/SIGINT).
 */
export async function startCommandService(config: CommandServiceConfig) {
  const app = await NestFactory.create<NestExpressApplication>(
    CommandServiceModule.forConfig(config),
    { bodyParser: false, bufferLogs: true },
  );
  useHttpPlatform(app, commandApi, { trustProxy: config.TRUST_PROXY });
  app.use(jsonBody());
  app.disable('x-powered-by');
  // Handlers set meaningful ETags (the order version) themselves; no hash-of-body guesses.
  app.set('etag', false);
  await app.listen(config.PORT, '0.0.0.0');
  return app;
}

if (require.main === module) {
  runUntilSignalled('command-service', () =>
    startCommandService(loadCommandServiceConfig(process.env)),
  );
}
