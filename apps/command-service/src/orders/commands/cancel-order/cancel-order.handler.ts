import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { OrderCommandRunner, type CommandOutcome } from '../order-command.runner';
import { CancelOrderCommand } from './cancel-order.command';

@CommandHandler(CancelOrderCommand)
export class CancelOrderHandler implements ICommandHandler<CancelOrderCommand> {
  constructor(private readonly runner: OrderCommandRunner) {}

  execute(command: CancelOrderCommand): Promise<CommandOutcome> {
    return this.runner.run(
      command.orderId,
      { type: 'CancelOrder', ...command.cancellation },
      command.context,
    );
  }
}
