import { Command } from '@nestjs/cqrs';
import type { CommandContext, CommandOutcome } from '../order-command.runner';

export class RemoveItemCommand extends Command<CommandOutcome> {
  constructor(
    readonly orderId: string,
    readonly sku: string,
    readonly context: CommandContext,
  ) {
    super();
  }
}
