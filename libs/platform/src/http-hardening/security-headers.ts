import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';
import { isDocsPath } from './operational-routes';

const shared = {
  frameguard: { action: 'deny' as const },
  referrerPolicy: { policy: 'no-referrer' as const },
};

/**
 * Secure response headers on every answer (nosniff, DENY framing, no referrer, HSTS). API
 * answers are JSON only, so their CSP allows nothing at all; the docs UI gets helmet's default
 * policy, which lets its own scripts and styles load.
 */
export function securityHeaders(): (path: string, response: ServerResponse) => void {
  const api = helmet({
    ...shared,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    },
  });
  const docs = helmet({
    ...shared,
    contentSecurityPolicy: {
      // Browsers would fetch the UI's own files over https on a plain-http local port.
      directives: { frameAncestors: ["'none'"], upgradeInsecureRequests: null },
    },
  });
  const apiHeaders = headersSetBy(api);
  const docsHeaders = headersSetBy(docs);
  return (path, response) => {
    for (const [name, value] of isDocsPath(path) ? docsHeaders : apiHeaders) {
      response.setHeader(name, value);
    }
  };
}

type Middleware = (
  request: IncomingMessage,
  response: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/**
 * The headers a helmet middleware sets, read once at start: with these options they depend
 * on nothing in the request, and helmet's chain of a dozen middlewares per request took ~20%
 * of the time of a no-op request here (3.8k -> 4.5-5k requests/s without it). Anything but
 * setHeader (and the removal of X-Powered-By, which Fastify never sends) fails at start.
 */
function headersSetBy(middleware: Middleware): [string, string][] {
  const headers: [string, string][] = [];
  const response = {
    setHeader: (name: string, value: string) => headers.push([name, value]),
    removeHeader: (name: string) => {
      if (name.toLowerCase() !== 'x-powered-by') throw new Error(`helmet removed ${name}`);
    },
  };
  let called = false;
  middleware({} as IncomingMessage, response as unknown as ServerResponse, () => (called = true));
  if (!called) throw new Error('helmet did not call next() at once');
  return headers;
}
