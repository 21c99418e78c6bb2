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
import type { Request, Response } from 'express';
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
  async place(@Req() request: Request, @Res({ passthrough: true }) response: Response) {
    const body = parseRequest(placeOrderBody, request.body);
    const context = commandContext(request, commandPatterns.place, body.orderId ?? '', body);
    const orderId = body.orderId ?? randomUUID();
    const outcome = await this.commands.execute(new PlaceOrderCommand(orderId, body, context));
    response.location(`/orders/${outcome.orderId}`);
    return answer(response, outcome);
  }

  @Post(':id/items')
  @HttpCode(200)
  addItem(
    @Param('id') id: string,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ) {
    const line = parseRequest(addItemBody, request.body);
    return this.execute(
      request,
      response,
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
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ) {
    const validSku = parseRequest(identifierSchema, sku, 'sku');
    parseRequest(emptyBody, request.body);
    return this.execute(
      request,
      response,
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
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ) {
    parseRequest(emptyBody, request.body);
    return this.execute(
      request,
      response,
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
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ) {
    const payment = parseRequest(payOrderBody, request.body);
    return this.execute(
      request,
      response,
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
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ) {
    const shipment = parseRequest(shipOrderBody, request.body);
    return this.execute(
      request,
      response,
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
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ) {
    const cancellation = parseRequest(cancelOrderBody, request.body);
    return this.execute(
      request,
      response,
      commandPatterns.cancel,
      id,
      cancellation,
      (orderId, context) => new CancelOrderCommand(orderId, cancellation, context),
    );
  }

  private async execute(
    request: Request,
    response: Response,
    operation: string,
    id: string,
    body: unknown,
    command: (orderId: string, context: CommandContext) => Command<CommandOutcome>,
  ): Promise<CommandResult> {
    const orderId = parseOrderId(id);
    const context = commandContext(request, operation, orderId, body);
    const outcome = await this.commands.execute(command(orderId, context));
    return answer(response, outcome);
  }
}

function answer(response: Response, outcome: CommandOutcome): CommandResult {
  response.setHeader('ETag', `"${outcome.version}"`);
  if (outcome.replayed) response.setHeader('Idempotent-Replayed', 'true');
  return {
    orderId: outcome.orderId,
    version: outcome.version,
    consistencyToken: outcome.consistencyToken,
  };
}
