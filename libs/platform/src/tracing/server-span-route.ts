import { trace } from '@opentelemetry/api';

/**
 * Names the HTTP server span by route template (`POST /orders/:id/items`), as the Express
 * instrumentation did: OpenTelemetry JS has no Fastify instrumentation that only names spans.
 * Without tracing there is no active span, and nothing happens.
 */
export function nameServerSpanByRoute(method: string, route: string): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  span.setAttribute('http.route', route);
  span.updateName(`${method} ${route}`);
}
