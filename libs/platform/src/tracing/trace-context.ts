import {
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanOptions,
  type TextMapGetter,
  type Tracer,
} from '@opentelemetry/api';

/**
 * The tracer of this system's own spans. Without a started SDK every call on it is an
 * @opentelemetry/api no-op, so code can trace unconditionally.
 */
export function ordersTracer(): Tracer {
  return trace.getTracer('orders-cqrs');
}

/** The W3C `traceparent` of a span, or undefined for a span that is not real (tracing off). */
export function traceparentOf(span: Span): string | undefined {
  const spanContext = span.spanContext();
  if (!isSpanContextValid(spanContext)) return undefined;
  return `00-${spanContext.traceId}-${spanContext.spanId}-${hexFlags(spanContext.traceFlags)}`;
}

const hexFlags = (traceFlags: number) => (traceFlags & 0xff).toString(16).padStart(2, '0');

/**
 * The active span's ids under the names OpenTelemetry's log correlation uses, for log lines
 * written inside a traced operation; undefined when tracing is off or nothing is traced.
 */
export function activeTraceFields():
  { trace_id: string; span_id: string; trace_flags: string } | undefined {
  const spanContext = trace.getSpanContext(context.active());
  // Not isRecording(): a request's last line is written after its span has ended.
  if (spanContext === undefined || !isSpanContextValid(spanContext)) return undefined;
  const { traceId, spanId, traceFlags } = spanContext;
  return { trace_id: traceId, span_id: spanId, trace_flags: hexFlags(traceFlags) };
}

/** A context whose parent is the span a stored `traceparent` names (unchanged without one). */
export function contextOfTraceparent(
  traceparent: string | null | undefined,
  base: Context = ROOT_CONTEXT,
): Context {
  return traceparent ? propagation.extract(base, { traceparent }) : base;
}

/**
 * The parent for work that may run inside a traced request or come with only a stored or
 * received `traceparent` (a command over RabbitMQ): the active span when there is one.
 */
export function activeContextOr(traceparent: string | null | undefined): Context {
  const active = context.active();
  return trace.getSpan(active) ? active : contextOfTraceparent(traceparent, active);
}

/** AMQP headers hold strings, or Buffers when a client sent them as byte arrays. */
const amqpHeaderGetter: TextMapGetter<Record<string, unknown> | undefined> = {
  keys: (headers) => Object.keys(headers ?? {}),
  get: (headers, key) => {
    const value = headers?.[key];
    if (typeof value === 'string') return value;
    return Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
  },
};

/** The trace context a message carries in its headers (`traceparent`, `tracestate`). */
export function contextOfAmqpHeaders(headers: Record<string, unknown> | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, headers, amqpHeaderGetter);
}

/**
 * Headers that carry `span`'s trace context to the receiver. With tracing off nothing is
 * injected, and `fallbackTraceparent` (the caller's own context, as stored) travels instead.
 */
export function traceHeadersOf(
  span: Span,
  fallbackTraceparent: string | null | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), headers);
  if (headers.traceparent === undefined && fallbackTraceparent) {
    return { traceparent: fallbackTraceparent };
  }
  return headers;
}

/**
 * Runs `work` in a new active span under `parent`; the span ends when `work` settles and
 * records a thrown error.
 */
export async function inSpan<T>(
  name: string,
  options: SpanOptions,
  parent: Context,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  return ordersTracer().startActiveSpan(name, options, parent, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      recordFailure(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Runs `work` in a new INTERNAL span, child of the active span. */
export function inChildSpan<T>(
  name: string,
  attributes: Attributes,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  return inSpan(name, { attributes }, context.active(), work);
}

/** Marks a span failed, with the error's stable `code` (when it has one) as `error.type`. */
export function recordFailure(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  const code = (error as { code?: unknown } | null)?.code;
  const type = typeof code === 'string' ? code : error instanceof Error ? error.name : 'unknown';
  span.setAttribute('error.type', type);
  if (error instanceof Error) span.recordException(error);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}
