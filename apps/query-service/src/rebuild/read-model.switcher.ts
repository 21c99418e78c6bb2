import { Inject, Injectable, Logger } from '@nestjs/common';
import { QUERY_SERVICE_CONFIG, type QueryServiceConfig } from '../config/query-service.config';
import { ReadModelGenerations } from '../read-store/read-model-generations';
import { ReadStore } from '../read-store/read-store.service';
import { FeedCatchUp } from './feed-catch-up';
import type { ReadModelSwitchMarker } from './read-model-switch.message';
import { RebuildStateStore } from './rebuild-state';

/** The projection is paused while switching; a final catch-up longer than this is abandoned. */
export const SWITCH_CATCH_UP_LIMIT_MS = 30_000;

export type SwitchResult =
  /** The new generation is active: write live events there from now on. */
  | 'switched'
  /** This attempt will not switch (recorded); keep writing to the current generation. */
  | 'abandoned'
  /** Not the current attempt, or already decided: nothing to do. */
  | 'ignored';

/**
 * Runs in the active consumer when it meets a switch marker, with intake paused and every
 * earlier delivery applied: the final catch-up of the new generation from the rebuild's
 * checkpoint, then the pointer, then the outcome for the rebuild.
 *
 * The catch-up goes up to the newest position the old generation holds (its views'
 * `positionKey`), or to the feed's end if that comes first. The feed shows every such event:
 * the relay only publishes events the feed already shows (same visibility rule), and the feed
 * never shows fewer later. Bounding it by the old generation, not by the feed's moving end,
 * keeps the pause short however fast commands keep coming. The rebuild stopped writing when
 * it published the marker and waits for the outcome, so the new generation has one writer.
 */
@Injectable()
export class ReadModelSwitcher {
  private readonly logger = new Logger(ReadModelSwitcher.name);

  constructor(
    @Inject(QUERY_SERVICE_CONFIG) private readonly config: QueryServiceConfig,
    private readonly state: RebuildStateStore,
    private readonly generations: ReadModelGenerations,
    private readonly readStore: ReadStore,
    private readonly catchUp: FeedCatchUp,
  ) {}

  /**
   * Throws when the outcome could not be recorded (the read store failing, or shutdown): the
   * caller returns the marker to the queue and the attempt is decided on its next delivery.
   */
  async completeSwitch(marker: ReadModelSwitchMarker, signal: AbortSignal): Promise<SwitchResult> {
    const { generation, attempt } = marker;
    if ((await this.state.readOutcome(generation, attempt)) !== null) return 'ignored';
    const rebuild = await this.state.read();
    if (
      rebuild === null ||
      rebuild.generation !== generation ||
      rebuild.attempt !== attempt ||
      rebuild.phase !== 'switching'
    ) {
      this.logger.warn(
        `ignoring switch marker for generation ${generation} attempt ${attempt}: not the current attempt`,
      );
      return 'ignored';
    }
    const target = this.readStore.collectionsOf(generation);
    const current = await this.generations.forWriting();
    const active = current.generation;
    if (active === generation) {
      // A previous consumer switched and died before recording it.
      await this.state.recordOutcome({
        generation,
        attempt,
        outcome: 'switched',
        checkpoint: rebuild.checkpoint,
        eventsApplied: 0,
      });
      return 'switched';
    }

    let caughtUp: { checkpoint: string; applied: number };
    try {
      const started = Date.now();
      // findOne closes its cursor: an open one would hold a lock on the old generation.
      const newest = await current.orderViews.findOne(
        {},
        { projection: { lastPosition: 1, positionKey: 1 }, sort: { positionKey: -1 } },
      );
      const result = await this.catchUp.run(target, rebuild.checkpoint, {
        pageSize: this.config.rebuildPageSize,
        signal,
        deadline: started + SWITCH_CATCH_UP_LIMIT_MS,
        // Views from before positionKey existed cannot say: then read to the feed's end.
        ...(newest === null || newest.positionKey
          ? { until: BigInt(newest?.lastPosition ?? '0') }
          : {}),
      });
      if (result.waiting > 0)
        throw new Error(`${result.waiting} feed events wait for a predecessor`);
      caughtUp = result;
      this.logger.log(
        `final catch-up of generation ${generation}: ${result.applied} events in ${Date.now() - started} ms`,
      );
    } catch (error) {
      signal.throwIfAborted();
      const reason = error instanceof Error ? error.message : String(error);
      this.logger.warn(`switch to generation ${generation} abandoned: ${reason}`);
      await this.state.recordOutcome({
        generation,
        attempt,
        outcome: 'abandoned',
        reason,
        checkpoint: rebuild.checkpoint,
        eventsApplied: 0,
      });
      return 'abandoned';
    }
    await this.generations.activate(generation);
    await this.state.recordOutcome({
      generation,
      attempt,
      outcome: 'switched',
      checkpoint: caughtUp.checkpoint,
      eventsApplied: caughtUp.applied,
    });
    this.logger.log(`read models switched to generation ${generation}`);
    return 'switched';
  }
}
