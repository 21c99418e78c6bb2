import { Module } from '@nestjs/common';
import { ConsistencyModule } from '../consistency/consistency.module';
import { ReadStoreModule } from '../read-store/read-store.module';
import { OrderEventsConsumer } from './order-events.consumer';
import { OrderViewWriter } from './order-view.writer';

@Module({
  imports: [ReadStoreModule, ConsistencyModule],
  providers: [OrderViewWriter, OrderEventsConsumer],
  exports: [OrderEventsConsumer],
})
export class ConsumersModule {}
