import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { OrderCommandRunner, type CommandOutcome } from '../order-command.runner';
import { ConfirmOrderCommand } from './confirm-order.command';

@CommandHandler(ConfirmOrderCommand)
export class ConfirmOrderHandler implements ICommandHandler<ConfirmOrderCommand> {
  constructor(private readonly runner: OrderCommandRunner) {}

  execute(command: ConfirmOrderCommand): Promise<CommandOutcome> {
    return this.runner.run(command.orderId, { type: 'ConfirmOrder' }, command.context);
  }
}
