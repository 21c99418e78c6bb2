import type { Application, Request, RequestHandler } from 'express';
import { match } from 'path-to-regexp';
import { Counter, Histogram, register, type Metric } from 'prom-client';
import { isDocsPath } from '../http-hardening/operational-routes';

/** Several apps can run in one process (tests): they share the metric, never register it twice. */
export function sharedMetric<M extends Metric>(name: string, create: () => M): M {
  return (register.getSingleMetric(name) as M | undefined) ?? create();
}

const requestsTotal = () =>
  sharedMetric(
    'http_requests_total',
    () =>
      new Counter({
        name: 'http_requests_total',
        help: 'HTTP requests answered, by method, route template and status',
        labelNames: ['method', 'route', 'status'],
      }),
  );

const requestDuration = () =>
  sharedMetric(
    'http_request_duration_seconds',
    () =>
      new Histogram({
        name: 'http_request_duration_seconds',
        help: 'Time to answer HTTP requests, by method, route template and status',
        labelNames: ['method', 'route', 'status'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      }),
  );

/**
 * Request rate and latency labelled by route template (`/orders/:id/items`), never by the
 * raw URL, so the number of series stays bounded whatever clients send.
 */
export function httpMetrics(app: Application): RequestHandler {
  const requests = requestsTotal();
  const duration = requestDuration();
  const templates = new RouteTemplates(app);
  return (request, response, next) => {
    const stopTimer = duration.startTimer();
    response.once('close', () => {
      const labels = {
        method: request.method,
        route: templates.templateOf(request),
        status: String(response.statusCode),
      };
      requests.inc(labels);
      stopTimer(labels);
    });
    next();
  };
}

interface RouteEntry {
  template: string;
  methods: ReadonlySet<string>;
  matches: (path: string) => unknown;
}

/** Express' own stack, read once; only for requests refused before routing (413, 415). */
interface RouterStack {
  router?: { stack?: { route?: { path?: unknown; methods?: Record<string, boolean> } }[] };
}

class RouteTemplates {
  private routes: RouteEntry[] | undefined;

  constructor(private readonly app: Application) {}

  templateOf(request: Request): string {
    const path = request.originalUrl.split('?')[0] ?? '/';
    if (isDocsPath(path)) return '/docs';
    const routed = (request.route as { path?: unknown } | undefined)?.path;
    if (typeof routed === 'string') return routed;
    const method = request.method.toLowerCase();
    this.routes ??= this.collect();
    const known = this.routes.find(
      (route) => (route.methods.has(method) || route.methods.has('_all')) && route.matches(path),
    );
    return known?.template ?? 'unmatched';
  }

  private collect(): RouteEntry[] {
    const stack = (this.app as unknown as RouterStack).router?.stack ?? [];
    return stack.flatMap(({ route }) => {
      if (typeof route?.path !== 'string') return [];
      const methods = new Set(
        Object.entries(route.methods ?? {})
          .filter(([, on]) => on)
          .map(([name]) => name),
      );
      return [{ template: route.path, methods, matches: match(route.path, { decode: false }) }];
    });
  }
}
