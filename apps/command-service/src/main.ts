// First: tracing must be started before Nest, http and pg are loaded.
import './tracing';
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  acceptJsonBodies,
  createHttpAdapter,
  runUntilSignalled,
  useHttpPlatform,
} from '@orders/platform';
import { CommandServiceModule } from './app.module';
import {
  loadCommandServiceConfig,
  type CommandServiceConfig,
} from './config/command-service.config';
import { commandApi } from './orders/http/command-api.openapi';

/** Builds and starts the command service; `app.close()` stops it (here: on SIGTERM/SIGINT). */
async function startCommandService(config: CommandServiceConfig) {
  const app = await NestFactory.create<NestFastifyApplication>(
    CommandServiceModule.forConfig(config),
    createHttpAdapter({ trustProxy: config.TRUST_PROXY }),
    { bodyParser: false, bufferLogs: true },
  );
  useHttpPlatform(app, commandApi);
  acceptJsonBodies(app);
  await app.listen(config.PORT, '0.0.0.0');
  return app;
}

if (require.main === module) {
  runUntilSignalled('command-service', () =>
    startCommandService(loadCommandServiceConfig(process.env)),
  );
}
