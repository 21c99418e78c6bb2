import { Command } from '@nestjs/cqrs';
import type { CommandContext, CommandOutcome } from '../order-command.runner';
import type { CancelOrderBody } from '@orders/contracts';

export class CancelOrderCommand extends Command<CommandOutcome> {
  constructor(
    readonly orderId: string,
    readonly cancellation: CancelOrderBody,
    readonly context: CommandContext,
  ) {
    super();
  }
}
