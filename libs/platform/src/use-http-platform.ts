import type { NestExpressApplication } from '@nestjs/platform-express';
import { securityHeaders } from './http-hardening/security-headers';
import { accessLog } from './observability/access-log';
import { httpMetrics } from './observability/http-metrics';
import { requestContext } from './observability/request-context';
import { ServiceLogger } from './observability/service-logger';
import { serveApiDocs, type ApiDescription } from './openapi/api-docs';

export interface HttpPlatformUse {
  /**
   * False when the caller brought its own Nest logger (or none, as tests do): Nest keeps it,
   * and the JSON service logger (access lines included) stays silent.
   */
  jsonLogs?: boolean;
}

/**
 * The Express-level half of HttpPlatformModule. Call it right after NestFactory.create and
 * before any body parser, so that refused bodies (413, 415) are counted, logged and carry ids.
 */
export function useHttpPlatform(
  app: NestExpressApplication,
  api: ApiDescription,
  { jsonLogs = true }: HttpPlatformUse = {},
): void {
  const logger = app.get(ServiceLogger);
  if (jsonLogs) app.useLogger(logger);
  else logger.pino.level = 'silent';
  app.use(requestContext());
  app.use(accessLog(logger.pino));
  app.use(httpMetrics(app.getHttpAdapter().getInstance()));
  app.use(securityHeaders());
  serveApiDocs(app, api);
}
