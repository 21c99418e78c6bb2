import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { isOperationalPath } from '../http-hardening/operational-routes';
import type { TracingSettings } from './tracing-settings';

/**
 * The OpenTelemetry SDK: OTLP/HTTP (JSON) export in batches, W3C trace context, and the
 * http, pg and mongodb instrumentations (useHttpPlatform names server spans by route). Loaded
 * only when tracing is on, and before any of those modules is required, so the
 * instrumentations can patch them.
 */
export function startNodeTracingSdk(settings: TracingSettings): { shutdown(): Promise<void> } {
  const provider = new NodeTracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName }),
    ),
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: settings.tracesUrl }), {
        scheduledDelayMillis: settings.scheduleDelayMs,
      }),
    ],
  });
  provider.register();
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        // Probes and scrapes every few seconds would bury the traces that matter.
        ignoreIncomingRequestHook: (request) =>
          isOperationalPath(new URL(request.url ?? '/', 'http://localhost').pathname),
        requireParentforOutgoingSpans: true,
      }),
      // Without a parent these would be the relay's and the metrics' polling, one trace each.
      // Pool checkouts are not worth a span each (three per command).
      new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
      new MongoDBInstrumentation({ requireParentSpan: true }),
    ],
  });
  return { shutdown: () => provider.shutdown() };
}
