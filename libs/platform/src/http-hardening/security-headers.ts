import type { RequestHandler } from 'express';
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
export function securityHeaders(): RequestHandler {
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
  return (request, response, next) => {
    if (isDocsPath(request.path)) docs(request, response, next);
    else api(request, response, next);
  };
}
