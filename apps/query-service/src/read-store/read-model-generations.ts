import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { Collection } from 'mongodb';
import type { ReadModelCollections } from './read-model.collections';
import { ReadStore } from './read-store.service';

export const READ_MODEL_STATE_COLLECTION = 'read_model_state';
const ACTIVE_GENERATION_ID = 'active-generation';
/**
 * Readers read the pointer again once it is this old; until that read answers they serve the
 * generation they know, which a switch keeps until the next rebuild begins.
 */
export const ACTIVE_GENERATION_CACHE_MS = 1000;

/** The pointer every reader and writer consults. Written only by the consumer that switches. */
export interface ActiveGenerationDocument {
  _id: typeof ACTIVE_GENERATION_ID;
  generation: number;
  switchedAt: Date;
}

/** Without a pointer document, generation 1 is active (a store that was never rebuilt). */
export const FIRST_GENERATION = 1;

/** Which generation of the read models serves queries and receives live events. */
@Injectable()
export class ReadModelGenerations implements OnModuleInit {
  private cached: { generation: number; readAt: number } | null = null;
  /** Switches made here: a pointer read under way when one happens answers what it replaced. */
  private activations = 0;
  /** The pointer read under way, shared by every reader that wants it meanwhile. */
  private reading: Promise<number> | null = null;

  constructor(private readonly readStore: ReadStore) {}

  /** Every replica makes sure the serving generation has its indexes. */
  async onModuleInit(): Promise<void> {
    await this.readStore.ensureIndexes(await this.forWriting());
  }

  private get pointers(): Collection<ActiveGenerationDocument> {
    return this.readStore.db.collection<ActiveGenerationDocument>(READ_MODEL_STATE_COLLECTION);
  }

  /**
   * For queries: the active generation as last read. A pointer older than a second is read
   * again in the background, once however many readers want it, and readers never wait for that
   * read: during a read-store outage this replica still answers from its live views, instead of
   * every request waiting out server selection to fail.
   */
  async forReading(): Promise<ReadModelCollections> {
    if (this.cached === null) return this.readStore.collectionsOf(await this.readOnce());
    if (Date.now() - this.cached.readAt > ACTIVE_GENERATION_CACHE_MS) {
      this.readOnce().catch(() => undefined);
    }
    return this.readStore.collectionsOf(this.cached.generation);
  }

  /** For writers: read from the store now, never from the cache. */
  async forWriting(): Promise<ReadModelCollections> {
    return this.readStore.collectionsOf(await this.readActiveGeneration());
  }

  /** Points every reader and writer at `generation`. Only a switching consumer calls this. */
  async activate(generation: number): Promise<void> {
    await this.pointers.replaceOne(
      { _id: ACTIVE_GENERATION_ID },
      { generation, switchedAt: new Date() },
      { upsert: true },
    );
    this.activations += 1;
    this.cached = { generation, readAt: Date.now() };
  }

  private readOnce(): Promise<number> {
    this.reading ??= this.readActiveGeneration().finally(() => (this.reading = null));
    return this.reading;
  }

  private async readActiveGeneration(): Promise<number> {
    const activations = this.activations;
    const pointer = await this.pointers.findOne({ _id: ACTIVE_GENERATION_ID });
    // A switch made here while the read was on its way is newer than what it found.
    if (activations !== this.activations && this.cached) return this.cached.generation;
    const generation = pointer?.generation ?? FIRST_GENERATION;
    this.cached = { generation, readAt: Date.now() };
    return generation;
  }
}
