import { Module } from '@nestjs/common';
import { mongoClientProvider } from './mongo-client.provider';
import { ReadStore } from './read-store.service';

@Module({
  providers: [mongoClientProvider, ReadStore],
  exports: [ReadStore],
})
export class ReadStoreModule {}
