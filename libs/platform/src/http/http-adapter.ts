import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { pathOf } from '../http-hardening/operational-routes';
import { securityHeaders } from '../http-hardening/security-headers';
import type { TrustProxySetting } from '../http-hardening/trust-proxy';
import { MAX_BODY_BYTES } from './json-body';
import { answerMalformedHttpWithProblem } from './malformed-http';
import { httpLayerProblem, writeProblem } from './problem-details.filter';

/**
 * The HTTP server both services run on: Nest on Fastify, which spends a fraction of Express's
 * CPU per request (a Nest hello world here: ~11k GETs/s on Fastify against ~2.7k on Express).
 */
export function createHttpAdapter({
  trustProxy = false,
}: {
  /**
   * TRUST_PROXY: when set, the client address the rate limiter and the access log use is
   * taken from X-Forwarded-For by proxy-addr's rules. Off by default.
   */
  trustProxy?: TrustProxySetting;
} = {}): FastifyAdapter {
  const secureHeaders = securityHeaders();
  return new FastifyAdapter({
    // Fastify takes a hop count as "trust nobody"; TRUST_PROXY's count means the n nearest hops.
    trustProxy:
      typeof trustProxy === 'number'
        ? (_address: string, hop: number) => hop < trustProxy
        : trustProxy,
    bodyLimit: MAX_BODY_BYTES,
    clientErrorHandler: answerMalformedHttpWithProblem,
    // A URL that does not decode, or an over-long path parameter: refused while routing, before
    // any hook runs.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      secureHeaders(pathOf(request.url), reply.raw);
      writeProblem(reply, httpLayerProblem(error.statusCode ?? 400, error.message), request.url);
    },
    // Shutdown is HttpIntake's: requests that arrive are answered, with Connection: close.
    return503OnClosing: false,
  });
}
