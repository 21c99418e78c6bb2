import { z } from 'zod';
import {
  orderCommandMessage,
  orderCommandReply,
  ORDERS_COMMANDS_DEAD_LETTER_QUEUE,
} from '../commands/order-command-messages';
import { commandPatterns, paymentSucceededMessage } from '../commands/order-commands';
import { orderEventSchemas, orderEventTypes, type OrderEventType } from '../events/order-events';
import {
  ORDER_ID_HEADER,
  ORDERS_COMMANDS_QUEUE,
  ORDERS_EVENTS_EXCHANGE,
  PAYMENT_SUCCEEDED_ROUTING_KEY,
  PAYMENTS_EVENTS_EXCHANGE,
  routingKeyOf,
} from '../events/routing';

const jsonSchema = (schema: z.ZodType) =>
  z.toJSONSchema(schema, { target: 'draft-7', io: 'input' });

/** The envelope around one event type's data, as a JSON schema. */
function envelopeSchema(type: OrderEventType) {
  const { schemaVersion, data } = orderEventSchemas[type];
  return {
    type: 'object',
    additionalProperties: false,
    required: [
      'eventId',
      'type',
      'schemaVersion',
      'orderId',
      'version',
      'position',
      'occurredAt',
      'correlationId',
      'causationId',
      'data',
    ],
    properties: {
      eventId: { type: 'string', format: 'uuid' },
      type: { const: type },
      schemaVersion: { const: schemaVersion },
      orderId: { type: 'string', format: 'uuid' },
      version: { type: 'integer', minimum: 1, description: "The order's version after this event" },
      position: { type: 'string', pattern: '^[0-9]{1,20}$', description: 'Global commit position' },
      occurredAt: { type: 'string', format: 'date-time' },
      correlationId: { type: 'string' },
      causationId: { type: 'string' },
      data: jsonSchema(data),
    },
  };
}

const eventHeaders = {
  type: 'object',
  properties: {
    traceparent: {
      type: 'string',
      description:
        "W3C trace context: the relay's publish span (a child of the command's span) when " +
        "tracing is on, else the command request's own traceparent",
    },
    [ORDER_ID_HEADER]: { type: 'string', format: 'uuid', description: 'For partitioning by order' },
  },
};

/**
 * The AsyncAPI 3.0 document of every message of contract §4, built from the same zod schemas
 * the services validate with, so it cannot drift from the code.
 */
export function buildAsyncApiDocument() {
  const eventMessages = Object.fromEntries(
    orderEventTypes.map((type) => [
      type,
      {
        name: type,
        title: `${type} v${orderEventSchemas[type].schemaVersion}`,
        contentType: 'application/json',
        headers: eventHeaders,
        payload: envelopeSchema(type),
        bindings: { amqp: { messageType: type, bindingVersion: '0.3.0' } },
      },
    ]),
  );
  const eventChannels = Object.fromEntries(
    orderEventTypes.map((type) => [
      `orders-events-${routingKeyOf(type)}`,
      {
        address: routingKeyOf(type),
        description: `Routing key ${routingKeyOf(type)} on the durable topic exchange ${ORDERS_EVENTS_EXCHANGE}; persistent, message-id = eventId, at least once, per order in version order.`,
        messages: { [type]: { $ref: `#/components/messages/${type}` } },
        bindings: {
          amqp: {
            is: 'routingKey',
            exchange: {
              name: ORDERS_EVENTS_EXCHANGE,
              type: 'topic',
              durable: true,
              autoDelete: false,
              vhost: '/',
            },
            bindingVersion: '0.3.0',
          },
        },
      },
    ]),
  );
  const commandMessages = Object.fromEntries(
    Object.values(commandPatterns).map((pattern) => [
      pattern.replace('.', '-'),
      {
        name: pattern,
        contentType: 'application/json',
        summary: `The ${pattern} command; AMQP type = ${pattern}, reply-to and correlation-id required`,
        payload: jsonSchema(orderCommandMessage),
        bindings: { amqp: { messageType: pattern, bindingVersion: '0.3.0' } },
      },
    ]),
  );
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'orders-cqrs messages',
      version: '1.0.0',
      description:
        'Domain events published by the command service, the commands it takes over RabbitMQ, and the payment events it consumes.',
    },
    defaultContentType: 'application/json',
    channels: {
      ...eventChannels,
      ordersCommands: {
        address: ORDERS_COMMANDS_QUEUE,
        description: `Quorum queue of request/reply commands. A message without idempotencyKey is keyed by its message-id, so a redelivery answers its first answer instead of running again. Unanswerable messages dead-letter to ${ORDERS_COMMANDS_DEAD_LETTER_QUEUE}.`,
        messages: Object.fromEntries(
          Object.keys(commandMessages).map((name) => [
            name,
            { $ref: `#/components/messages/${name}` },
          ]),
        ),
        bindings: {
          amqp: {
            is: 'queue',
            queue: {
              name: ORDERS_COMMANDS_QUEUE,
              durable: true,
              exclusive: false,
              autoDelete: false,
              vhost: '/',
            },
            bindingVersion: '0.3.0',
          },
        },
      },
      commandReplies: {
        address: null,
        description: 'The reply-to queue the sender names',
        messages: { commandReply: { $ref: '#/components/messages/commandReply' } },
      },
      paymentsSucceeded: {
        address: PAYMENT_SUCCEEDED_ROUTING_KEY,
        description: `Routing key ${PAYMENT_SUCCEEDED_ROUTING_KEY} on the topic exchange ${PAYMENTS_EVENTS_EXCHANGE}.`,
        messages: { paymentSucceeded: { $ref: '#/components/messages/paymentSucceeded' } },
        bindings: {
          amqp: {
            is: 'routingKey',
            exchange: {
              name: PAYMENTS_EVENTS_EXCHANGE,
              type: 'topic',
              durable: true,
              autoDelete: false,
              vhost: '/',
            },
            bindingVersion: '0.3.0',
          },
        },
      },
    },
    operations: {
      ...Object.fromEntries(
        orderEventTypes.map((type) => [
          `publish${type}`,
          {
            action: 'send',
            channel: { $ref: `#/channels/orders-events-${routingKeyOf(type)}` },
            messages: [{ $ref: `#/channels/orders-events-${routingKeyOf(type)}/messages/${type}` }],
          },
        ]),
      ),
      receiveCommand: {
        action: 'receive',
        channel: { $ref: '#/channels/ordersCommands' },
        reply: {
          channel: { $ref: '#/channels/commandReplies' },
          address: { location: '$message.header#/replyTo' },
        },
      },
      receivePaymentSucceeded: {
        action: 'receive',
        channel: { $ref: '#/channels/paymentsSucceeded' },
      },
    },
    components: {
      messages: {
        ...eventMessages,
        ...commandMessages,
        commandReply: {
          name: 'commandReply',
          contentType: 'application/json',
          payload: jsonSchema(orderCommandReply),
        },
        paymentSucceeded: {
          name: 'payment.succeeded',
          contentType: 'application/json',
          payload: jsonSchema(paymentSucceededMessage),
        },
      },
    },
  };
}

/**
 * What each published event type and version looks like on the wire, and its routing key:
 * compared against the committed lock so that a breaking change needs a new schemaVersion.
 */
export function publishedEventContracts(): Record<
  string,
  { routingKey: string; envelope: unknown }
> {
  return Object.fromEntries(
    orderEventTypes.map((type) => [
      `${type}@v${orderEventSchemas[type].schemaVersion}`,
      { routingKey: routingKeyOf(type), envelope: envelopeSchema(type) },
    ]),
  );
}
