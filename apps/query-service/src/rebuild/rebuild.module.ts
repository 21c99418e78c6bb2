import { Module } from '@nestjs/common';
import { ReadStoreModule } from '../read-store/read-store.module';
import { AdminRebuildController } from './admin-rebuild.controller';
import { EventFeedClient } from './event-feed.client';
import { FeedCatchUp } from './feed-catch-up';
import { ReadModelRebuilder } from './read-model.rebuilder';
import { ReadModelSwitcher } from './read-model.switcher';
import { RebuildStateStore } from './rebuild-state';

@Module({
  imports: [ReadStoreModule],
  controllers: [AdminRebuildController],
  providers: [
    EventFeedClient,
    FeedCatchUp,
    RebuildStateStore,
    ReadModelSwitcher,
    ReadModelRebuilder,
  ],
  exports: [ReadModelSwitcher],
})
export class RebuildModule {}
