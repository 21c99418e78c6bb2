import { Command } from '@nestjs/cqrs';
import type { CommandContext, CommandOutcome } from '../order-command.runner';

export class ConfirmOrderCommand extends Command<CommandOutcome> {
  constructor(
    readonly orderId: string,

    readonly context: CommandContext,
  ) {
    super();
  }
}
