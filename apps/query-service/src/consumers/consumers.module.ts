import { Module } from '@nestjs/common';
import { ConsistencyModule } from '../consistency/consistency.module';
import { ReadStoreModule } from '../read-store/read-store.module';
import { RebuildModule } from '../rebuild/rebuild.module';
import { OrderEventsConsumer } from './order-events.consumer';
import { ProjectionLagMonitor } from './projection-lag.monitor';
import { ProjectionMetrics } from './projection.metrics';

@Module({
  imports: [ReadStoreModule, ConsistencyModule, RebuildModule],
  providers: [OrderEventsConsumer, ProjectionLagMonitor, ProjectionMetrics],
  exports: [OrderEventsConsumer, ProjectionLagMonitor],
})
export class ConsumersModule {}
