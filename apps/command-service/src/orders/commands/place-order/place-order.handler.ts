import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { OrderCommandRunner, type CommandOutcome } from '../order-command.runner';
import { PlaceOrderCommand } from './place-order.command';

@CommandHandler(PlaceOrderCommand)
export class PlaceOrderHandler implements ICommandHandler<PlaceOrderCommand> {
  constructor(private readonly runner: OrderCommandRunner) {}

  execute(command: PlaceOrderCommand): Promise<CommandOutcome> {
    return this.runner.run(
      command.orderId,
      {
        type: 'PlaceOrder',
        customerId: command.body.customerId,
        currency: command.body.currency,
        items: command.body.items ?? [],
      },
      command.context,
    );
  }
}
