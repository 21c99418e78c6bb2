import { randomUUID } from 'node:crypto';
import { Controller, Delete, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import {
  addItemBody,
  cancelOrderBody,
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
import type { CommandOutcome } from '../commands/order-command.runner';
import { PayOrderCommand } from '../commands/pay-order/pay-order.command';
import { PlaceOrderCommand } from '../commands/place-order/place-order.command';
import { RemoveItemCommand } from '../commands/remove-item/remove-item.command';
import { ShipOrderCommand } from '../commands/ship-order/ship-order.command';
import { commandContext, parseOrderId } from './command-request';

/** A command without a body accepts none, or an empty JSON object. */
const emptyBody = z.strictObject({}).optional();

@Controller('orders')
export class OrdersController {
  constructor(private readonly commands: CommandBus) {}

  @Post()
  @HttpCode(201)
  async place(@Req() request: Request, @Res({ passthrough: true }) response: Response) {
    const { orderId, ...body } = parseRequest(placeOrderBody, request.body);
    const id = orderId ?? randomUUID();
    const outcome = await this.commands.execute(
      new PlaceOrderCommand(id, body, commandContext(request)),
    );
    response.location(`/orders/${id}`);
    return answer(response, outcome);
  }

  @Post(':id/items')
  @HttpCode(200)
  async addItem(
    @Param('id') id: string,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ) {
    const orderId = parseOrderId(id);
    const line = parseRequest(addItemBody, request.body);
    return answer(
      response,
      await this.commands.execute(new AddItemCommand(orderId, line, commandContext(request))),
    );
  }

  @Delete(':id/items/:sku')
  @HttpCode(200)
  async removeItem(
    @Param('id') id: string,
    @Param('sku') sku: string,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ) {
    const orderId = parseOrderId(id);
    const validSku = parseRequest(identifierSchema, sku, 'sku');
    parseRequest(emptyBody, request.body);
    return answer(
      response,
      await this.commands.execute(
        new RemoveItemCommand(orderId, validSku, commandContext(request)),
      ),
    );
  }

  @Post(':id/confirm')
  @HttpCode(200)
  async confirm(
    @Param('id') id: string,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ) {
    const orderId = parseOrderId(id);
    parseRequest(emptyBody, request.body);
    return answer(
      response,
      await this.commands.execute(new ConfirmOrderCommand(orderId, commandContext(request))),
    );
  }

  @Post(':id/pay')
  @HttpCode(200)
  async pay(
    @Param('id') id: string,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ) {
    const orderId = parseOrderId(id);
    const payment = parseRequest(payOrderBody, request.body);
    return answer(
      response,
      await this.commands.execute(new PayOrderCommand(orderId, payment, commandContext(request))),
    );
  }

  @Post(':id/ship')
  @HttpCode(200)
  async ship(
    @Param('id') id: string,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ) {
    const orderId = parseOrderId(id);
    const shipment = parseRequest(shipOrderBody, request.body);
    return answer(
      response,
      await this.commands.execute(new ShipOrderCommand(orderId, shipment, commandContext(request))),
    );
  }

  @Post(':id/cancel')
  @HttpCode(200)
  async cancel(
    @Param('id') id: string,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ) {
    const orderId = parseOrderId(id);
    const cancellation = parseRequest(cancelOrderBody, request.body);
    return answer(
      response,
      await this.commands.execute(
        new CancelOrderCommand(orderId, cancellation, commandContext(request)),
      ),
    );
  }
}

function answer(response: Response, outcome: CommandOutcome): CommandResult {
  response.setHeader('ETag', `"${outcome.version}"`);
  return {
    orderId: outcome.orderId,
    version: outcome.version,
    consistencyToken: outcome.consistencyToken,
  };
}
