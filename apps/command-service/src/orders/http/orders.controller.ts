import { randomUUID } from 'node:crypto';
import { Controller, Delete, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { CommandBus, type Command } from '@nestjs/cqrs';
import {
  addItemBody,
  cancelOrderBody,
  commandPatterns,
  identifierSchema,
  payOrderBody,
  placeOrderBody,
  shipOrderBody,
  type CommandResult,
} from '@orders/contracts';
import { parseRequest } from '@orders/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AddItemCommand } from '../commands/add-item/add-item.command';
import { CancelOrderCommand } from '../commands/cancel-order/cancel-order.command';
import { ConfirmOrderCommand } from '../commands/confirm-order/confirm-order.command';
import type { CommandContext, CommandOutcome } from '../commands/order-command.runner';
import { PayOrderCommand } from '../commands/pay-order/pay-order.command';
import { PlaceOrderCommand } from '../commands/place-order/place-order.command';
import { RemoveItemCommand } from '../commands/remove-item/remove-item.command';
import { ShipOrderCommand } from '../commands/ship-order/ship-order.command';
import { commandContext, parseOrderId } from './command-request';

/** A command without a body accepts none, or an empty JSON object. */
const emptyBody = z.strictObject({}).optional();

/** The REST way in: validates, builds the command, answers with ETag and token. */
@Controller('orders')
export class OrdersController {
  constructor(private readonly commands: CommandBus) {}

  @Post()
  @HttpCode(201)
  async place(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const body = parseRequest(placeOrderBody, request.body);
    const context = commandContext(request, commandPatterns.place, body.orderId ?? '', body);
    const orderId = body.orderId ?? randomUUID();
    const outcome = await this.commands.execute(new PlaceOrderCommand(orderId, body, context));
    reply.header('Location', `/orders/${outcome.orderId}`);
    return answer(reply, outcome);
  }

  @Post(':id/items')
  @HttpCode(200)
  addItem(
    @Param('id') id: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const line = parseRequest(addItemBody, request.body);
    return this.execute(
      request,
      reply,
      commandPatterns.addItem,
      id,
      line,
      (orderId, context) => new AddItemCommand(orderId, line, context),
    );
  }

  @Delete(':id/items/:sku')
  @HttpCode(200)
  removeItem(
    @Param('id') id: string,
    @Param('sku') sku: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const validSku = parseRequest(identifierSchema, sku, 'sku');
    parseRequest(emptyBody, request.body);
    return this.execute(
      request,
      reply,
      commandPatterns.removeItem,
      id,
      { sku: validSku },
      (orderId, context) => new RemoveItemCommand(orderId, validSku, context),
    );
  }

  @Post(':id/confirm')
  @HttpCode(200)
  confirm(
    @Param('id') id: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    parseRequest(emptyBody, request.body);
    return this.execute(
      request,
      reply,
      commandPatterns.confirm,
      id,
      {},
      (orderId, context) => new ConfirmOrderCommand(orderId, context),
    );
  }

  @Post(':id/pay')
  @HttpCode(200)
  pay(
    @Param('id') id: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const payment = parseRequest(payOrderBody, request.body);
    return this.execute(
      request,
      reply,
      commandPatterns.pay,
      id,
      payment,
      (orderId, context) => new PayOrderCommand(orderId, payment, context),
    );
  }

  @Post(':id/ship')
  @HttpCode(200)
  ship(
    @Param('id') id: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const shipment = parseRequest(shipOrderBody, request.body);
    return this.execute(
      request,
      reply,
      commandPatterns.ship,
      id,
      shipment,
      (orderId, context) => new ShipOrderCommand(orderId, shipment, context),
    );
  }

  @Post(':id/cancel')
  @HttpCode(200)
  cancel(
    @Param('id') id: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const cancellation = parseRequest(cancelOrderBody, request.body);
    return this.execute(
      request,
      reply,
      commandPatterns.cancel,
      id,
      cancellation,
      (orderId, context) => new CancelOrderCommand(orderId, cancellation, context),
    );
  }

  private async execute(
    request: FastifyRequest,
    reply: FastifyReply,
    operation: string,
    id: string,
    body: unknown,
    command: (orderId: string, context: CommandContext) => Command<CommandOutcome>,
  ): Promise<CommandResult> {
    const orderId = parseOrderId(id);
    const context = commandContext(request, operation, orderId, body);
    const outcome = await this.commands.execute(command(orderId, context));
    return answer(reply, outcome);
  }
}

function answer(reply: FastifyReply, outcome: CommandOutcome): CommandResult {
  reply.header('ETag', `"${outcome.version}"`);
  if (outcome.replayed) reply.header('Idempotent-Replayed', 'true');
  return {
    orderId: outcome.orderId,
    version: outcome.version,
    consistencyToken: outcome.consistencyToken,
  };
}
