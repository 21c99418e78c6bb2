import { SpanKind, type Span } from '@opentelemetry/api';
import { contextOfAmqpHeaders, contextOfTraceparent, inSpan, ordersTracer } from './trace-context';

// Messaging semantic conventions (incubating, so copied rather than imported, as the
// semantic-conventions package recommends). `messaging.system` is the name most backends and
// the amqplib instrumentation still use; `messaging.system.name` is its current successor.

/** What a span says about one AMQP message. */
export interface AmqpMessageFacts {
  exchange: string;
  routingKey: string;
  messageId?: string | undefined;
  correlationId?: string | undefined;
}

/** `server.address` and `server.port` of a broker, taken once from its URL. */
export interface AmqpBroker {
  address: string;
  port: number;
}

export function amqpBrokerOf(brokerUrl: string): AmqpBroker {
  const broker = new URL(brokerUrl);
  return {
    address: broker.hostname,
    port: Number(broker.port || (broker.protocol === 'amqps:' ? 5671 : 5672)),
  };
}

// Attributes are set once the span turned out to be recording, so tracing off costs nothing
// (building them with object spreads cost ~10 µs per span on this machine); no sampler of
// ours looks at them.
function setRabbitmqAttributes(span: Span, message: AmqpMessageFacts, operation: string): void {
  span.setAttribute('messaging.system', 'rabbitmq');
  span.setAttribute('messaging.system.name', 'rabbitmq');
  span.setAttribute('messaging.destination.name', message.exchange);
  span.setAttribute('messaging.rabbitmq.destination.routing_key', message.routingKey);
  span.setAttribute('messaging.operation.type', operation === 'publish' ? 'send' : operation);
  span.setAttribute('messaging.operation.name', operation);
  if (message.messageId) span.setAttribute('messaging.message.id', message.messageId);
  if (message.correlationId) {
    span.setAttribute('messaging.message.conversation_id', message.correlationId);
  }
}

/**
 * A PRODUCER span for publishing one message, child of the span a stored `traceparent` names.
 * The caller ends it once the broker confirmed (or refused) the message.
 */
export function startAmqpPublishSpan(
  message: AmqpMessageFacts,
  broker: AmqpBroker,
  parentTraceparent: string | null | undefined,
): Span {
  const span = ordersTracer().startSpan(
    `publish ${message.exchange}`,
    { kind: SpanKind.PRODUCER },
    contextOfTraceparent(parentTraceparent),
  );
  if (span.isRecording()) {
    setRabbitmqAttributes(span, message, 'publish');
    span.setAttribute('server.address', broker.address);
    span.setAttribute('server.port', broker.port);
  }
  return span;
}

/**
 * Runs the processing of one delivery in a CONSUMER span whose parent is the trace context
 * the message carries in its headers (the producer's span).
 */
export function inAmqpProcessSpan<T>(
  message: AmqpMessageFacts & {
    queue: string;
    deliveryTag: number;
    headers: Record<string, unknown> | undefined;
  },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  return inSpan(
    `process ${message.exchange}`,
    { kind: SpanKind.CONSUMER },
    contextOfAmqpHeaders(message.headers),
    (span) => {
      if (span.isRecording()) {
        setRabbitmqAttributes(span, message, 'process');
        span.setAttribute('messaging.destination.subscription.name', message.queue);
        span.setAttribute('messaging.rabbitmq.message.delivery_tag', message.deliveryTag);
      }
      return work(span);
    },
  );
}
