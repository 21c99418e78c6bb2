import type { NestExpressApplication } from '@nestjs/platform-express';
import { securityHeaders } from './http-hardening/security-headers';
import { HttpIntake } from './lifecycle/http-intake';
import type { TrustProxySetting } from './http-hardening/trust-proxy';
import { answerMalformedHttpWithProblems } from './http/malformed-http';
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
  /**
   * Express `trust proxy` (TRUST_PROXY): when set, the client address the rate limiter and the
   * access log use is taken from X-Forwarded-For by Express's rules. Off by default.
   */
  trustProxy?: TrustProxySetting;
}

/**
 * The Express-level half of HttpPlatformModule. Call it right after NestFactory.create and
 * before any body parser, so that refused bodies (413, 415) are counted, logged and carry ids.
 */
export function useHttpPlatform(
  app: NestExpressApplication,
  api: ApiDescription,
  { jsonLogs = true, trustProxy = false }: HttpPlatformUse = {},
): void {
  app.set('trust proxy', trustProxy);
  answerMalformedHttpWithProblems(app.getHttpServer());
  const logger = app.get(ServiceLogger);
  app.use(app.get(HttpIntake).track());
  if (jsonLogs) app.useLogger(logger);
  else logger.pino.level = 'silent';
  app.use(requestContext());
  app.use(accessLog(logger.pino));
  app.use(httpMetrics(app.getHttpAdapter().getInstance()));
  app.use(securityHeaders());
  serveApiDocs(app, api);
}
