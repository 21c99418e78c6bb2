import { Injectable } from '@nestjs/common';
import { MongoServerError, type Collection } from 'mongodb';
import { READ_MODEL_STATE_COLLECTION } from '../read-store/read-model-generations';
import { ReadStore } from '../read-store/read-store.service';

export type RebuildPhase = 'building' | 'switching' | 'completed' | 'failed';

/**
 * Progress of the latest rebuild (`_id: 'rebuild'`). Written only by the replica holding the
 * rebuild lock; read by everyone, including the consumer that performs the switch.
 */
export interface RebuildStateDocument {
  _id: 'rebuild';
  /** The generation being built. */
  generation: number;
  /** The generation that was active when the rebuild began. */
  previousGeneration: number;
  phase: RebuildPhase;
  /** Switch attempts so far; a switch marker names the attempt it belongs to. */
  attempt: number;
  /** Every feed event at or below this position is in the new generation. */
  checkpoint: string;
  eventsApplied: number;
  startedAt: Date;
  updatedAt: Date;
  completedAt?: Date;
  error?: string;
}

/**
 * How a switch attempt ended, recorded by the consumer that handled its marker (`_id:
 * switch-outcome:<generation>:<attempt>`, insert-only). Until it exists, the rebuild writes
 * nothing to the new generation: the consumer may be catching it up.
 */
export interface SwitchOutcomeDocument {
  _id: string;
  generation: number;
  attempt: number;
  outcome: 'switched' | 'abandoned';
  reason?: string;
  checkpoint: string;
  eventsApplied: number;
  at: Date;
}

type StateDocument = RebuildStateDocument | SwitchOutcomeDocument;

const REBUILD_ID = 'rebuild';
const DUPLICATE_KEY = 11000;

export function switchOutcomeIdOf(generation: number, attempt: number): string {
  return `switch-outcome:${generation}:${attempt}`;
}

@Injectable()
export class RebuildStateStore {
  constructor(private readonly readStore: ReadStore) {}

  private get collection(): Collection<StateDocument> {
    return this.readStore.db.collection<StateDocument>(READ_MODEL_STATE_COLLECTION);
  }

  async read(): Promise<RebuildStateDocument | null> {
    return (await this.collection.findOne({ _id: REBUILD_ID })) as RebuildStateDocument | null;
  }

  /** Only the holder of the rebuild lock calls this. */
  async save(state: RebuildStateDocument): Promise<void> {
    await this.collection.replaceOne({ _id: REBUILD_ID }, state, { upsert: true });
  }

  async readOutcome(generation: number, attempt: number): Promise<SwitchOutcomeDocument | null> {
    return (await this.collection.findOne({
      _id: switchOutcomeIdOf(generation, attempt),
    })) as SwitchOutcomeDocument | null;
  }

  /** Insert-only: the first outcome of an attempt stands. */
  async recordOutcome(outcome: Omit<SwitchOutcomeDocument, '_id' | 'at'>): Promise<void> {
    try {
      await this.collection.insertOne({
        _id: switchOutcomeIdOf(outcome.generation, outcome.attempt),
        ...outcome,
        at: new Date(),
      });
    } catch (error) {
      if (!(error instanceof MongoServerError && error.code === DUPLICATE_KEY)) throw error;
    }
  }
}
