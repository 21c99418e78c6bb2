import { Module } from '@nestjs/common';
import { ReadStoreModule } from '../read-store/read-store.module';
import { OrderVersionNotifier } from './order-version.notifier';
import { ReadYourWritesInterceptor } from './read-your-writes.interceptor';
import { ReadYourWritesWaiter } from './read-your-writes.waiter';

@Module({
  imports: [ReadStoreModule],
  providers: [OrderVersionNotifier, ReadYourWritesWaiter, ReadYourWritesInterceptor],
  exports: [OrderVersionNotifier, ReadYourWritesWaiter, ReadYourWritesInterceptor],
})
export class ConsistencyModule {}
