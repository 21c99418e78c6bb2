import { Module } from '@nestjs/common';
import { mongoClientProvider, mongoHeartbeatWatchdogProvider } from './mongo-client.provider';
import { LiveViews } from './live-views';
import { ReadModelGenerations } from './read-model-generations';
import { ReadModelWriter } from './read-model.writer';
import { ReadStore } from './read-store.service';

@Module({
  providers: [
    mongoClientProvider,
    mongoHeartbeatWatchdogProvider,
    ReadStore,
    ReadModelGenerations,
    ReadModelWriter,
    LiveViews,
  ],
  exports: [ReadStore, ReadModelGenerations, ReadModelWriter, LiveViews],
})
export class ReadStoreModule {}
