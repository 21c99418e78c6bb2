import { Module } from '@nestjs/common';
import { ConsumersModule } from '../consumers/consumers.module';
import { ReadStoreModule } from '../read-store/read-store.module';
import { HealthController } from './health.controller';

@Module({
  imports: [ReadStoreModule, ConsumersModule],
  controllers: [HealthController],
})
export class HealthModule {}
