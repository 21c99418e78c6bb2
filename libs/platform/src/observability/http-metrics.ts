import type { ServerResponse } from 'node:http';
import type { FastifyRequest } from 'fastify';
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
export function httpMetrics(): (method: string, route: string, response: ServerResponse) => void {
  const requests = requestsTotal();
  const duration = requestDuration();
  return (method, route, response) => {
    const stopTimer = duration.startTimer();
    response.once('close', () => {
      const labels = { method, route, status: String(response.statusCode) };
      requests.inc(labels);
      stopTimer(labels);
    });
  };
}

/** Fastify routes a request before its first hook runs, also when it refuses its body later. */
export function routeTemplateOf(request: FastifyRequest, path: string): string {
  if (isDocsPath(path)) return '/docs';
  return request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
}
