import { Command } from '@nestjs/cqrs';
import type { CommandContext, CommandOutcome } from '../order-command.runner';
import type { AddItemBody } from '@orders/contracts';

export class AddItemCommand extends Command<CommandOutcome> {
  constructor(
    readonly orderId: string,
    readonly line: AddItemBody,
    readonly context: CommandContext,
  ) {
    super();
  }
}
