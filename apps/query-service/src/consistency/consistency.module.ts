import { Module } from '@nestjs/common';
import { ReadStoreModule } from '../read-store/read-store.module';
import { OrderVersionNotifier } from './order-version.notifier';
import { ReadYourWritesGuard } from './read-your-writes.guard';
import { ReadYourWritesWaiter } from './read-your-writes.waiter';

@Module({
  imports: [ReadStoreModule],
  providers: [OrderVersionNotifier, ReadYourWritesWaiter, ReadYourWritesGuard],
  exports: [OrderVersionNotifier, ReadYourWritesWaiter, ReadYourWritesGuard],
})
export class ConsistencyModule {}
