import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { OrderCommandRunner, type CommandOutcome } from '../order-command.runner';
import { ShipOrderCommand } from './ship-order.command';

@CommandHandler(ShipOrderCommand)
export class ShipOrderHandler implements ICommandHandler<ShipOrderCommand> {
  constructor(private readonly runner: OrderCommandRunner) {}

  execute(command: ShipOrderCommand): Promise<CommandOutcome> {
    return this.runner.run(
      command.orderId,
      { type: 'ShipOrder', ...command.shipment },
      command.context,
    );
  }
}
