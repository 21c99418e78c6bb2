import { Injectable, type OnModuleInit } from '@nestjs/common';
import { MongoServerError, type Collection, type Filter } from 'mongodb';
import { ReadStore } from '../read-store/read-store.service';
import { DEAD_LETTERS_COLLECTION, type DeadLetterDocument } from './dead-letter.document';

const DUPLICATE_KEY = 11000;

export interface DeadLetterFilter {
  orderId?: string | undefined;
  eventType?: string | undefined;
}

/** Position in the listing: after this (storedAt, id). */
export interface DeadLetterPosition {
  storedAt: Date;
  id: string;
}

/** The operator's view of the dead letters, in MongoDB. Insert-once; removed after a replay. */
@Injectable()
export class DeadLetterStore implements OnModuleInit {
  constructor(private readonly readStore: ReadStore) {}

  private get collection(): Collection<DeadLetterDocument> {
    return this.readStore.db.collection<DeadLetterDocument>(DEAD_LETTERS_COLLECTION);
  }

  async onModuleInit(): Promise<void> {
    await this.collection.createIndexes([{ key: { storedAt: 1, _id: 1 }, name: 'stored_at' }]);
  }

  /** False when this very dead-lettering is already stored (a redelivery from the queue). */
  async insert(doc: DeadLetterDocument): Promise<boolean> {
    try {
      await this.collection.insertOne(doc);
      return true;
    } catch (error) {
      if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) return false;
      throw error;
    }
  }

  async list(
    filter: DeadLetterFilter,
    limit: number,
    after: DeadLetterPosition | null,
  ): Promise<DeadLetterDocument[]> {
    const query: Filter<DeadLetterDocument> = {};
    if (filter.orderId !== undefined) query.orderId = filter.orderId;
    if (filter.eventType !== undefined) query.eventType = filter.eventType;
    if (after !== null) {
      query.$or = [
        { storedAt: { $gt: after.storedAt } },
        { storedAt: after.storedAt, _id: { $gt: after.id } },
      ];
    }
    return this.collection.find(query).sort({ storedAt: 1, _id: 1 }).limit(limit).toArray();
  }

  async get(id: string): Promise<DeadLetterDocument | null> {
    return this.collection.findOne({ _id: id });
  }

  async remove(id: string): Promise<void> {
    await this.collection.deleteOne({ _id: id });
  }

  async count(): Promise<number> {
    return this.collection.countDocuments();
  }
}
