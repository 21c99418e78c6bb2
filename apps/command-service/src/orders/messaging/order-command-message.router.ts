import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { CommandBus, type Command } from '@nestjs/cqrs';
import {
  addItemBody,
  cancelOrderBody,
  commandPatterns,
  isOrderCommandPattern,
  orderCommandMessage,
  payOrderBody,
  placeOrderBody,
  removeItemMessageBody,
  shipOrderBody,
  type OrderCommandMessage,
  type OrderCommandPattern,
  type OrderCommandReply,
} from '@orders/contracts';
import { HttpProblem, MAX_BODY_BYTES, parseRequest, validationProblem } from '@orders/platform';
import { z } from 'zod';
import { AddItemCommand } from '../commands/add-item/add-item.command';
import { CancelOrderCommand } from '../commands/cancel-order/cancel-order.command';
import { buildCommandContext } from '../commands/command-context';
import { ConfirmOrderCommand } from '../commands/confirm-order/confirm-order.command';
import type { CommandContext, CommandOutcome } from '../commands/order-command.runner';
import { PayOrderCommand } from '../commands/pay-order/pay-order.command';
import { PlaceOrderCommand } from '../commands/place-order/place-order.command';
import { RemoveItemCommand } from '../commands/remove-item/remove-item.command';
import { ShipOrderCommand } from '../commands/ship-order/ship-order.command';
import { IDEMPOTENCY_KEY_PATTERN } from '../../idempotency/idempotency-store';
import { commandProblem } from '../order-problems';

/** A command message as it came off the queue: nothing in it is trusted yet. */
export interface IncomingCommandMessage {
  /** The AMQP `type` property. */
  pattern: string | undefined;
  content: Buffer;
  contentType: string | undefined;
  messageId: string | undefined;
  traceparent: string | undefined;
}

export interface RoutedReply {
  reply: OrderCommandReply;
  /** The reply repeats the recorded first answer to the same idempotency key. */
  replayed: boolean;
}

/** What a pattern makes of a valid message: what a key stands for, and the command. */
interface RoutedCommand {
  target: string;
  body: unknown;
  command: (context: CommandContext) => Command<CommandOutcome>;
}

const emptyBody = z.strictObject({}).optional();

/**
 * The RabbitMQ way in, as the REST controller is the HTTP one: validates a command message
 * with the contracts' schemas and runs it through the same CommandBus handlers, with the
 * same idempotency. Every outcome is a reply; nothing a client sends makes it throw.
 */
@Injectable()
export class OrderCommandMessageRouter {
  private readonly logger = new Logger(OrderCommandMessageRouter.name);

  constructor(private readonly commands: CommandBus) {}

  async execute(incoming: IncomingCommandMessage): Promise<RoutedReply> {
    try {
      const pattern = parsePattern(incoming.pattern);
      const message = parseRequest(orderCommandMessage, decodeJson(incoming));
      const routed = routeOf(pattern, message);
      const context = buildCommandContext({
        operation: pattern,
        target: routed.target,
        body: routed.body,
        requestId: incoming.messageId,
        correlationId: message.correlationId,
        traceparent: incoming.traceparent,
        expectedVersion: message.expectedVersion,
        idempotencyKey: message.idempotencyKey ?? messageIdKey(incoming.messageId),
      });
      const outcome = await this.commands.execute(routed.command(context));
      return {
        reply: {
          ok: true,
          result: {
            orderId: outcome.orderId,
            version: outcome.version,
            consistencyToken: outcome.consistencyToken,
          },
        },
        replayed: outcome.replayed,
      };
    } catch (error) {
      const problem = error instanceof HttpProblem ? error : commandProblem(error);
      if (problem) {
        return {
          reply: { ok: false, problem: problem.toProblem() },
          replayed: problem.headers['Idempotent-Replayed'] === 'true',
        };
      }
      this.logger.error(
        `command ${String(incoming.pattern)} (message ${String(incoming.messageId)}) failed`,
        error instanceof Error ? error.stack : String(error),
      );
      const internal = new HttpProblem(500, 'INTERNAL_ERROR', 'Internal error');
      return { reply: { ok: false, problem: internal.toProblem() }, replayed: false };
    }
  }
}

/**
 * A message that carries no idempotency key is deduplicated by its AMQP message id. The broker
 * delivers a message again when the service stopped between writing a command's events and
 * acknowledging it (a crash, a lost connection); run again, that delivery would add an item
 * twice or place a second order. A message id names one message (AMQP), so a client that
 * reuses one for another command gets 422, as with a reused key. A message without an id, or
 * with one no key can hold, runs as sent.
 */
function messageIdKey(messageId: string | undefined): string | undefined {
  const key = messageId === undefined ? undefined : `amqp-message-id:${messageId}`;
  return key !== undefined && IDEMPOTENCY_KEY_PATTERN.test(key) ? key : undefined;
}

function parsePattern(pattern: string | undefined): OrderCommandPattern {
  if (isOrderCommandPattern(pattern)) return pattern;
  throw new HttpProblem(
    400,
    'UNKNOWN_COMMAND',
    'The message names no known command',
    `the AMQP type property must be one of ${Object.values(commandPatterns).join(', ')}`,
  );
}

/** The same limits as the REST bodies: at most 64 KiB of UTF-8 JSON. */
function decodeJson({ content, contentType }: IncomingCommandMessage): unknown {
  if (content.length > MAX_BODY_BYTES) {
    throw new HttpProblem(413, 'BODY_TOO_LARGE', 'The body is over 64 KiB');
  }
  if (
    contentType !== undefined &&
    !/^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i.test(contentType)
  ) {
    throw new HttpProblem(415, 'UNSUPPORTED_MEDIA_TYPE', 'The body must be application/json');
  }
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(content));
  } catch {
    throw new HttpProblem(400, 'MALFORMED_JSON', 'The body is not valid JSON');
  }
}

/** Target and body are what REST fingerprints for the same command, so keys are shared. */
function routeOf(pattern: OrderCommandPattern, message: OrderCommandMessage): RoutedCommand {
  switch (pattern) {
    case commandPatterns.place: {
      if (message.orderId !== undefined) {
        throw validationProblem([
          { path: 'orderId', message: 'order.place takes its order id in body.orderId' },
        ]);
      }
      const body = parseRequest(placeOrderBody, message.body, 'body');
      const orderId = body.orderId ?? randomUUID();
      return {
        target: body.orderId ?? '',
        body,
        command: (context) => new PlaceOrderCommand(orderId, body, context),
      };
    }
    case commandPatterns.addItem: {
      const line = parseRequest(addItemBody, message.body, 'body');
      return onOrder(
        message,
        line,
        (orderId, context) => new AddItemCommand(orderId, line, context),
      );
    }
    case commandPatterns.removeItem: {
      const body = parseRequest(removeItemMessageBody, message.body, 'body');
      return onOrder(
        message,
        body,
        (orderId, context) => new RemoveItemCommand(orderId, body.sku, context),
      );
    }
    case commandPatterns.confirm: {
      parseRequest(emptyBody, message.body, 'body');
      return onOrder(message, {}, (orderId, context) => new ConfirmOrderCommand(orderId, context));
    }
    case commandPatterns.pay: {
      const payment = parseRequest(payOrderBody, message.body, 'body');
      return onOrder(
        message,
        payment,
        (orderId, context) => new PayOrderCommand(orderId, payment, context),
      );
    }
    case commandPatterns.ship: {
      const shipment = parseRequest(shipOrderBody, message.body, 'body');
      return onOrder(
        message,
        shipment,
        (orderId, context) => new ShipOrderCommand(orderId, shipment, context),
      );
    }
    case commandPatterns.cancel: {
      const cancellation = parseRequest(cancelOrderBody, message.body, 'body');
      return onOrder(
        message,
        cancellation,
        (orderId, context) => new CancelOrderCommand(orderId, cancellation, context),
      );
    }
    default: {
      const unhandled: never = pattern;
      throw new Error(`unhandled command pattern ${String(unhandled)}`);
    }
  }
}

function onOrder(
  message: OrderCommandMessage,
  body: unknown,
  command: (orderId: string, context: CommandContext) => Command<CommandOutcome>,
): RoutedCommand {
  const orderId = message.orderId;
  if (orderId === undefined) {
    throw validationProblem([{ path: 'orderId', message: 'required for this command' }]);
  }
  return { target: orderId, body, command: (context) => command(orderId, context) };
}
