import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { answerNotModified } from './http/conditional-get';
import { pathOf } from './http-hardening/operational-routes';
import { securityHeaders } from './http-hardening/security-headers';
import { HttpIntake } from './lifecycle/http-intake';
import { accessLog } from './observability/access-log';
import { httpMetrics, routeTemplateOf } from './observability/http-metrics';
import { enterRequestContext, resumeRequestContext } from './observability/request-context';
import { ServiceLogger } from './observability/service-logger';
import { serveApiDocs, type ApiDescription } from './openapi/api-docs';
import { nameServerSpanByRoute } from './tracing/server-span-route';

export interface HttpPlatformUse {
  /**
   * False when the caller brought its own Nest logger (or none, as tests do): Nest keeps it,
   * and the JSON service logger (access lines included) stays silent.
   */
  jsonLogs?: boolean;
}

/**
 * The Fastify-level half of HttpPlatformModule, for an app on `createHttpAdapter()`. Its
 * `onRequest` hook runs for every request before Fastify reads a body, so that refused ones
 * (413, 415, 404) are counted, logged and carry ids and secure headers too.
 */
export function useHttpPlatform(
  app: NestFastifyApplication,
  api: ApiDescription,
  { jsonLogs = true }: HttpPlatformUse = {},
): void {
  const logger = app.get(ServiceLogger);
  const intake = app.get(HttpIntake);
  if (jsonLogs) app.useLogger(logger);
  else logger.pino.level = 'silent';
  const logAccess = accessLog(logger.pino);
  const measure = httpMetrics();
  const secureHeaders = securityHeaders();
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (request, reply, done) => {
    const response = reply.raw;
    const path = pathOf(request.url);
    const route = routeTemplateOf(request, path);
    intake.track(response);
    if (!request.is404) nameServerSpanByRoute(request.method, route);
    logAccess(request, path, response);
    measure(request.method, route, response);
    secureHeaders(path, response);
    enterRequestContext(request.raw, response, done);
  });
  fastify.addHook('preValidation', (request, _reply, done) => {
    resumeRequestContext(request.raw, done);
  });
  fastify.addHook('onSend', answerNotModified);
  serveApiDocs(app, api);
}
