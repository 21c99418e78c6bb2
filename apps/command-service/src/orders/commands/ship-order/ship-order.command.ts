import { Command } from '@nestjs/cqrs';
import type { CommandContext, CommandOutcome } from '../order-command.runner';
import type { ShipOrderBody } from '@orders/contracts';

export class ShipOrderCommand extends Command<CommandOutcome> {
  constructor(
    readonly orderId: string,
    readonly shipment: ShipOrderBody,
    readonly context: CommandContext,
  ) {
    super();
  }
}
