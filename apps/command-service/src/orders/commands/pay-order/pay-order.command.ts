import { Command } from '@nestjs/cqrs';
import type { CommandContext, CommandOutcome } from '../order-command.runner';
import type { PayOrderBody } from '@orders/contracts';

export class PayOrderCommand extends Command<CommandOutcome> {
  constructor(
    readonly orderId: string,
    readonly payment: PayOrderBody,
    readonly context: CommandContext,
  ) {
    super();
  }
}
