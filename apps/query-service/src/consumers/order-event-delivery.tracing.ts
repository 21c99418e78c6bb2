import { inAmqpProcessSpan } from '@orders/platform/tracing';
import type { ConsumeMessage } from 'amqplib';

/**
 * Runs the handling of one order-event delivery in a CONSUMER span, continuing the trace of
 * the relay's publish span from the message's `traceparent` header. The projection write is a
 * child span, one per event, opened by the consumer.
 */
export function traceOrderEventDelivery(
  message: ConsumeMessage,
  queue: string,
  handle: () => Promise<void>,
): Promise<void> {
  return inAmqpProcessSpan(
    {
      exchange: message.fields.exchange,
      routingKey: message.fields.routingKey,
      messageId: textOrUndefined(message.properties.messageId),
      correlationId: textOrUndefined(message.properties.correlationId),
      queue,
      deliveryTag: message.fields.deliveryTag,
      headers: message.properties.headers,
    },
    handle,
  );
}

function textOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
