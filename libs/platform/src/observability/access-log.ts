import type { ServerResponse } from 'node:http';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { isOperationalPath } from '../http-hardening/operational-routes';
import { requestContextOf } from './request-context';

/**
 * One line per answered request (info; error for 5xx), with its ids and duration. Probes and
 * scrapes are left out: they would drown everything else.
 */
export function accessLog(
  logger: Logger,
): (request: FastifyRequest, path: string, response: ServerResponse) => void {
  return (request, path, response) => {
    if (isOperationalPath(path)) return;
    const started = process.hrtime.bigint();
    response.once('close', () => {
      const status = response.statusCode;
      const level = status >= 500 ? 'error' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          ...requestContextOf(request.raw),
          clientIp: request.ip,
          method: request.method,
          url: request.url,
          status,
          durationMs: Number(process.hrtime.bigint() - started) / 1e6,
        },
        response.writableFinished ? 'request completed' : 'request aborted by the client',
      );
    });
  };
}
