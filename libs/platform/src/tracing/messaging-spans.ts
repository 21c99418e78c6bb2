import { SpanKind, type Attributes, type Span } from '@opentelemetry/api';
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
export function amqpBrokerAttributes(brokerUrl: string): Attributes {
  const broker = new URL(brokerUrl);
  return {
    'server.address': broker.hostname,
    'server.port': Number(broker.port || (broker.protocol === 'amqps:' ? 5671 : 5672)),
  };
}

function rabbitmqAttributes(message: AmqpMessageFacts): Attributes {
  return {
    'messaging.system': 'rabbitmq',
    'messaging.system.name': 'rabbitmq',
    'messaging.destination.name': message.exchange,
    'messaging.rabbitmq.destination.routing_key': message.routingKey,
    ...(message.messageId ? { 'messaging.message.id': message.messageId } : {}),
    ...(message.correlationId
      ? { 'messaging.message.conversation_id': message.correlationId }
      : {}),
  };
}

/**
 * A PRODUCER span for publishing one message, child of the span a stored `traceparent` names.
 * The caller ends it once the broker confirmed (or refused) the message.
 */
export function startAmqpPublishSpan(
  message: AmqpMessageFacts,
  broker: Attributes,
  parentTraceparent: string | null | undefined,
): Span {
  return ordersTracer().startSpan(
    `publish ${message.exchange}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        ...rabbitmqAttributes(message),
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'publish',
        ...broker,
      },
    },
    contextOfTraceparent(parentTraceparent),
  );
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
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        ...rabbitmqAttributes(message),
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.destination.subscription.name': message.queue,
        'messaging.rabbitmq.message.delivery_tag': message.deliveryTag,
      },
    },
    contextOfAmqpHeaders(message.headers),
    work,
  );
}
