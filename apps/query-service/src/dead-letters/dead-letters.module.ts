import { Module } from '@nestjs/common';
import { ReadStoreModule } from '../read-store/read-store.module';
import { AdminDeadLettersController } from './admin-dead-letters.controller';
import { DeadLetterIntake } from './dead-letter.intake';
import { DeadLetterReplayer } from './dead-letter.replayer';
import { DeadLetterStore } from './dead-letter.store';

@Module({
  imports: [ReadStoreModule],
  controllers: [AdminDeadLettersController],
  providers: [DeadLetterStore, DeadLetterIntake, DeadLetterReplayer],
  exports: [DeadLetterStore, DeadLetterIntake],
})
export class DeadLettersModule {}
