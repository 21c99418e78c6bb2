import { Command } from '@nestjs/cqrs';
import type { CommandContext, CommandOutcome } from '../order-command.runner';
import type { PlaceOrderBody } from '@orders/contracts';

export class PlaceOrderCommand extends Command<CommandOutcome> {
  constructor(
    readonly orderId: string,
    readonly body: Omit<PlaceOrderBody, 'orderId'>,
    readonly context: CommandContext,
  ) {
    super();
  }
}
