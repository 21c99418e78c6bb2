import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { Collection } from 'mongodb';
import type { ReadModelCollections } from './read-model.collections';
import { ReadStore } from './read-store.service';

export const READ_MODEL_STATE_COLLECTION = 'read_model_state';
const ACTIVE_GENERATION_ID = 'active-generation';
/** Readers may serve the previous generation this long after a switch (it is kept). */
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

  constructor(private readonly readStore: ReadStore) {}

  /** Every replica makes sure the serving generation has its indexes. */
  async onModuleInit(): Promise<void> {
    await this.readStore.ensureIndexes(await this.forWriting());
  }

  private get pointers(): Collection<ActiveGenerationDocument> {
    return this.readStore.db.collection<ActiveGenerationDocument>(READ_MODEL_STATE_COLLECTION);
  }

  /** For queries: the active generation, cached briefly. */
  async forReading(): Promise<ReadModelCollections> {
    const now = Date.now();
    if (this.cached === null || now - this.cached.readAt > ACTIVE_GENERATION_CACHE_MS) {
      return this.readStore.collectionsOf(await this.readActiveGeneration());
    }
    return this.readStore.collectionsOf(this.cached.generation);
  }

  /** For writers: read from the store now, never from the cache. */
  async forWriting(): Promise<ReadModelCollections> {
    return this.readStore.collectionsOf(await this.readActiveGeneration());
  }

  async activeGeneration(): Promise<number> {
    return (await this.forReading()).generation;
  }

  /** Points every reader and writer at `generation`. Only a switching consumer calls this. */
  async activate(generation: number): Promise<void> {
    await this.pointers.replaceOne(
      { _id: ACTIVE_GENERATION_ID },
      { generation, switchedAt: new Date() },
      { upsert: true },
    );
    this.cached = { generation, readAt: Date.now() };
  }

  private async readActiveGeneration(): Promise<number> {
    const pointer = await this.pointers.findOne({ _id: ACTIVE_GENERATION_ID });
    const generation = pointer?.generation ?? FIRST_GENERATION;
    this.cached = { generation, readAt: Date.now() };
    return generation;
  }
}
