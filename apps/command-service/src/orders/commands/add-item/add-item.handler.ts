import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { OrderCommandRunner, type CommandOutcome } from '../order-command.runner';
import { AddItemCommand } from './add-item.command';

@CommandHandler(AddItemCommand)
export class AddItemHandler implements ICommandHandler<AddItemCommand> {
  constructor(private readonly runner: OrderCommandRunner) {}

  execute(command: AddItemCommand): Promise<CommandOutcome> {
    return this.runner.run(
      command.orderId,
      { type: 'AddItem', line: command.line },
      command.context,
    );
  }
}
