import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { QUERY_SERVICE_CONFIG, type QueryServiceConfig } from '../config/query-service.config';
import { OrderViewProjectionError } from '../projections/order-view.projection';
import { ReadModelGenerations } from '../read-store/read-model-generations';
import {
  dropReadModelCollections,
  ORDER_HISTORY_COLLECTION,
  ORDER_VIEWS_COLLECTION,
} from '../read-store/read-model.collections';
import { ReadStore } from '../read-store/read-store.service';
import { FeedContentError } from './event-feed.client';
import { FeedCatchUp } from './feed-catch-up';
import { RebuildStateStore, type RebuildStateDocument } from './rebuild-state';
import { RebuildLock, RebuildLockLostError } from './rebuild.lock';

/** How often every replica looks for an interrupted rebuild to resume. */
const RESUME_CHECK_MS = 5_000;
/** A marker may be lost with a crash before its confirm; publishing again is harmless. */
const REPUBLISH_MARKER_MS = 60_000;
const OUTCOME_POLL_MS = 250;
/**
 * The rebuild hands over to the consumer's final catch-up once it reaches the feed's end, or
 * events that happened less than this long ago: under a steady stream of commands the end
 * may never hold still long enough to be reached.
 */
const CLOSE_ENOUGH_MS = 3_000;
const RETRY_BACKOFF = { baseMs: 500, maxMs: 15_000 };

export interface RebuildStatus {
  activeGeneration: number;
  rebuild: Omit<RebuildStateDocument, '_id'> | null;
  /** This replica is the one running it. */
  runningHere: boolean;
}

/**
 * Rebuilds every read model from the command service's feed into a new generation while the
 * active one keeps serving, then has the active consumer switch over (see ReadModelSwitcher).
 * One rebuild at a time across all replicas (RebuildLock); its checkpoint is saved after every
 * page, and any replica resumes an interrupted rebuild from it.
 */
@Injectable()
export class ReadModelRebuilder implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ReadModelRebuilder.name);
  private readonly stop = new AbortController();
  private running: Promise<void> | null = null;
  private resumeTimer: NodeJS.Timeout | undefined;
  private starting: Promise<void> = Promise.resolve();

  constructor(
    @Inject(QUERY_SERVICE_CONFIG) private readonly config: QueryServiceConfig,
    private readonly state: RebuildStateStore,
    private readonly generations: ReadModelGenerations,
    private readonly readStore: ReadStore,
    private readonly catchUp: FeedCatchUp,
  ) {}

  onApplicationBootstrap(): void {
    const check = () => {
      void this.exclusively(() => this.resumeIfInterrupted()).catch((error: unknown) =>
        this.logger.warn(`looking for an interrupted rebuild failed: ${messageOf(error)}`),
      );
    };
    check();
    this.resumeTimer = setInterval(check, RESUME_CHECK_MS);
    this.resumeTimer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.resumeTimer);
    this.stop.abort();
    await this.starting.catch(() => undefined);
    await this.running;
  }

  async status(): Promise<RebuildStatus> {
    const [state, activeGeneration] = await Promise.all([
      this.state.read(),
      this.generations.forWriting().then((collections) => collections.generation),
    ]);
    const { _id: _omitted, ...rebuild } = state ?? { _id: 'rebuild' as const };
    return {
      activeGeneration,
      rebuild: state ? (rebuild as Omit<RebuildStateDocument, '_id'>) : null,
      runningHere: this.running !== null,
    };
  }

  /** Starts a rebuild, or resumes the interrupted one; a no-op while one runs anywhere. */
  async start(): Promise<RebuildStatus> {
    await this.exclusively(async () => {
      if (this.running !== null || (await this.resumeIfInterrupted())) return;
      const lock = await RebuildLock.tryAcquire(
        this.config.rabbitmqUrl,
        this.config.queryQueueName,
      );
      if (lock === null) return;
      try {
        const previous = await this.state.read();
        if (previous !== null && isUnfinished(previous)) {
          this.launch(lock, previous);
          return;
        }
        this.launch(lock, await this.begin(previous));
      } catch (error) {
        await lock.release();
        throw error;
      }
    });
    return this.status();
  }

  private async begin(previous: RebuildStateDocument | null): Promise<RebuildStateDocument> {
    const active = (await this.generations.forWriting()).generation;
    const generation = Math.max(active, previous?.generation ?? 0) + 1;
    await this.dropRetiredGenerations(active);
    const target = this.readStore.collectionsOf(generation);
    await dropReadModelCollections(target);
    this.readStore.forgetGeneration(generation);
    await this.readStore.ensureIndexes(target);
    const now = new Date();
    const state: RebuildStateDocument = {
      _id: 'rebuild',
      generation,
      previousGeneration: active,
      phase: 'building',
      attempt: 0,
      checkpoint: '0',
      eventsApplied: 0,
      startedAt: now,
      updatedAt: now,
    };
    await this.state.save(state);
    this.logger.log(`rebuild of generation ${generation} started (serving generation ${active})`);
    return state;
  }

  /** True when an interrupted rebuild is (now) running here or elsewhere. */
  private async resumeIfInterrupted(): Promise<boolean> {
    if (this.running !== null) return true;
    const state = await this.state.read();
    if (state === null || !isUnfinished(state)) return false;
    const lock = await RebuildLock.tryAcquire(this.config.rabbitmqUrl, this.config.queryQueueName);
    if (lock === null) return true;
    const current = await this.state.read().catch(async (error: unknown) => {
      await lock.release();
      throw error;
    });
    if (current === null || !isUnfinished(current)) {
      await lock.release();
      return false;
    }
    this.logger.log(
      `resuming the rebuild of generation ${current.generation} from ${current.checkpoint}`,
    );
    this.launch(lock, current);
    return true;
  }

  private launch(lock: RebuildLock, state: RebuildStateDocument): void {
    this.running = this.runWithLock(lock, state).finally(() => {
      this.running = null;
    });
  }

  private async runWithLock(lock: RebuildLock, initial: RebuildStateDocument): Promise<void> {
    let state = initial;
    const progress = { state: initial };
    const published = { attempt: 0, at: 0 };
    try {
      for (let failures = 0; !this.stop.signal.aborted;) {
        try {
          state = await this.advance(lock, state, published, progress);
          progress.state = state;
          if (!isUnfinished(state)) return;
          failures = 0;
        } catch (error) {
          // Resume from what the failed step saved, not from where it began.
          state = progress.state;
          if (this.stop.signal.aborted || error instanceof RebuildLockLostError) return;
          if (error instanceof FeedContentError || error instanceof OrderViewProjectionError) {
            state = { ...state, phase: 'failed', error: messageOf(error), updatedAt: new Date() };
            lock.assertHeld();
            await this.state.save(state);
            this.logger.error(
              `rebuild of generation ${state.generation} failed: ${messageOf(error)}`,
            );
            return;
          }
          failures += 1;
          const delay = Math.min(
            RETRY_BACKOFF.maxMs,
            RETRY_BACKOFF.baseMs * 2 ** Math.min(failures, 10),
          );
          this.logger.warn(`rebuild step failed (${messageOf(error)}); retrying in ${delay} ms`);
          await this.pause(delay);
        }
      }
    } finally {
      await lock.release();
    }
  }

  /** One step of the rebuild's state machine; returns the state it saved last. */
  private async advance(
    lock: RebuildLock,
    state: RebuildStateDocument,
    published: { attempt: number; at: number },
    progress: { state: RebuildStateDocument },
  ): Promise<RebuildStateDocument> {
    switch (state.phase) {
      case 'building': {
        let current = state;
        const result = await this.catchUp.run(
          this.readStore.collectionsOf(state.generation),
          state.checkpoint,
          {
            pageSize: this.config.rebuildPageSize,
            signal: this.stop.signal,
            recentWithinMs: CLOSE_ENOUGH_MS,
            assertMayWrite: () => lock.assertHeld(),
            onPage: async ({ checkpoint, applied }) => {
              current = {
                ...current,
                checkpoint,
                eventsApplied: current.eventsApplied + applied,
                updatedAt: new Date(),
              };
              lock.assertHeld();
              await this.state.save(current);
              progress.state = current;
            },
          },
        );
        if (result.waiting > 0) {
          // A sound feed never shows a version before its predecessor; wait for more of it.
          await this.pause(1000);
          return current;
        }
        const switching: RebuildStateDocument = {
          ...current,
          phase: 'switching',
          attempt: current.attempt + 1,
          updatedAt: new Date(),
        };
        lock.assertHeld();
        await this.state.save(switching);
        return switching;
      }
      case 'switching': {
        if (
          published.attempt !== state.attempt ||
          Date.now() - published.at > REPUBLISH_MARKER_MS
        ) {
          await lock.publishSwitchMarker({ generation: state.generation, attempt: state.attempt });
          Object.assign(published, { attempt: state.attempt, at: Date.now() });
        }
        const outcome = await this.state.readOutcome(state.generation, state.attempt);
        if (outcome === null) {
          await this.pause(OUTCOME_POLL_MS);
          return state;
        }
        lock.assertHeld();
        if (outcome.outcome === 'abandoned') {
          const building: RebuildStateDocument = {
            ...state,
            phase: 'building',
            checkpoint: outcome.checkpoint,
            updatedAt: new Date(),
          };
          await this.state.save(building);
          this.logger.warn(
            `switch attempt ${state.attempt} abandoned (${outcome.reason ?? ''}); catching up again`,
          );
          return building;
        }
        const completed: RebuildStateDocument = {
          ...state,
          phase: 'completed',
          checkpoint: outcome.checkpoint,
          eventsApplied: state.eventsApplied + outcome.eventsApplied,
          completedAt: new Date(),
          updatedAt: new Date(),
        };
        await this.state.save(completed);
        this.logger.log(`rebuild of generation ${state.generation} completed and switched`);
        return completed;
      }
      case 'completed':
      case 'failed':
        return state;
      default: {
        const unknown: never = state.phase;
        throw new Error(`unknown rebuild phase ${String(unknown)}`);
      }
    }
  }

  /**
   * When a rebuild begins: drops every generation but the active one. The generation the last
   * switch replaced was kept until now for readers still caching the pointer; dropping it
   * here, long after, never races a reader's open cursor (a drop is DROP TABLE on FerretDB).
   */
  private async dropRetiredGenerations(active: number): Promise<void> {
    const keep = new Set([active]);
    const pattern = new RegExp(`^(${ORDER_VIEWS_COLLECTION}|${ORDER_HISTORY_COLLECTION})_g(\\d+)$`);
    const names = await this.readStore.db.listCollections({}, { nameOnly: true }).toArray();
    const retired = new Set<number>();
    for (const { name } of names) {
      const generation = Number(pattern.exec(name)?.[2]);
      if (Number.isSafeInteger(generation) && !keep.has(generation)) retired.add(generation);
    }
    for (const generation of retired) {
      await dropReadModelCollections(this.readStore.collectionsOf(generation));
      this.readStore.forgetGeneration(generation);
      this.logger.log(`dropped retired generation ${generation}`);
    }
  }

  /** Serializes start and resume checks within this replica. */
  private exclusively<T>(work: () => Promise<T>): Promise<T> {
    const result = this.starting.then(work, work);
    this.starting = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.stop.signal }).catch(() => undefined);
  }
}

function isUnfinished(state: RebuildStateDocument): boolean {
  return state.phase === 'building' || state.phase === 'switching';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
