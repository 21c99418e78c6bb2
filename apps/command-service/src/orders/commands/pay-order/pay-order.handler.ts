import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { OrderCommandRunner, type CommandOutcome } from '../order-command.runner';
import { PayOrderCommand } from './pay-order.command';

@CommandHandler(PayOrderCommand)
export class PayOrderHandler implements ICommandHandler<PayOrderCommand> {
  constructor(private readonly runner: OrderCommandRunner) {}

  execute(command: PayOrderCommand): Promise<CommandOutcome> {
    return this.runner.run(
      command.orderId,
      { type: 'PayOrder', ...command.payment },
      command.context,
    );
  }
}
