import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { Db, MongoClient } from 'mongodb';
import { QUERY_SERVICE_CONFIG, type QueryServiceConfig } from '../config/query-service.config';
import { MONGO_CLIENT, MONGO_HEARTBEAT_WATCHDOG } from './mongo-client.provider';
import type { MongoHeartbeatWatchdog } from './mongo-heartbeat.watchdog';
import {
  ensureReadModelIndexes,
  readModelCollectionsOf,
  type ReadModelCollections,
} from './read-model.collections';

/** The MongoDB database of this service's read models. */
@Injectable()
export class ReadStore implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ReadStore.name);
  readonly db: Db;
  private readonly generations = new Map<number, ReadModelCollections>();
  private readonly indexed = new Set<number>();

  constructor(
    @Inject(MONGO_CLIENT) private readonly client: MongoClient,
    @Inject(MONGO_HEARTBEAT_WATCHDOG) private readonly watchdog: MongoHeartbeatWatchdog,
    @Inject(QUERY_SERVICE_CONFIG) config: QueryServiceConfig,
  ) {
    this.db = client.db(config.mongodbDatabase);
  }

  onModuleInit(): void {
    this.logger.log(`read store ready: database ${this.db.databaseName}`);
  }

  collectionsOf(generation: number): ReadModelCollections {
    let collections = this.generations.get(generation);
    if (!collections) {
      collections = readModelCollectionsOf(this.db, generation);
      this.generations.set(generation, collections);
    }
    return collections;
  }

  /** Creates the generation's indexes once per process (idempotent across replicas). */
  async ensureIndexes(collections: ReadModelCollections): Promise<void> {
    if (this.indexed.has(collections.generation)) return;
    await ensureReadModelIndexes(collections);
    this.indexed.add(collections.generation);
  }

  /** Forgets that a dropped generation was indexed, so it is indexed again if re-created. */
  forgetGeneration(generation: number): void {
    this.indexed.delete(generation);
  }

  async ping(): Promise<void> {
    await this.db.command({ ping: 1 });
  }

  /** Runs after the HTTP server and the consumer have stopped, so no one still needs it. */
  async onApplicationShutdown(): Promise<void> {
    await this.watchdog.stop();
    await this.client.close();
  }
}
