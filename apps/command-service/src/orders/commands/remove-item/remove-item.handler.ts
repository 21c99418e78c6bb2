import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { OrderCommandRunner, type CommandOutcome } from '../order-command.runner';
import { RemoveItemCommand } from './remove-item.command';

@CommandHandler(RemoveItemCommand)
export class RemoveItemHandler implements ICommandHandler<RemoveItemCommand> {
  constructor(private readonly runner: OrderCommandRunner) {}

  execute(command: RemoveItemCommand): Promise<CommandOutcome> {
    return this.runner.run(
      command.orderId,
      { type: 'RemoveItem', sku: command.sku },
      command.context,
    );
  }
}
