import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { ConsistencyModule } from '../consistency/consistency.module';
import { ReadStoreModule } from '../read-store/read-store.module';
import { GetOrderController } from './get-order/get-order.controller';
import { GetOrderHandler } from './get-order/get-order.handler';

@Module({
  imports: [CqrsModule.forRoot(), ReadStoreModule, ConsistencyModule],
  controllers: [GetOrderController],
  providers: [GetOrderHandler],
})
export class QueriesModule {}
