import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { Collection, Db, MongoClient } from 'mongodb';
import { QUERY_SERVICE_CONFIG, type QueryServiceConfig } from '../config/query-service.config';
import type { OrderViewDocument } from '../projections/order-view.document';
import { MONGO_CLIENT } from './mongo-client.provider';
import { orderViewIndexes, orderViewsOf } from './order-views.collection';

/** The MongoDB database of this service's read models and their collections. */
@Injectable()
export class ReadStore implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ReadStore.name);
  readonly db: Db;
  readonly orderViews: Collection<OrderViewDocument>;

  constructor(
    @Inject(MONGO_CLIENT) private readonly client: MongoClient,
    @Inject(QUERY_SERVICE_CONFIG) config: QueryServiceConfig,
  ) {
    this.db = client.db(config.mongodbDatabase);
    this.orderViews = orderViewsOf(this.db);
  }

  async onModuleInit(): Promise<void> {
    // Idempotent for identical specs, so every replica runs it at start. One index per call:
    // FerretDB 1.24 drops the connection (server panic) when one call re-creates several.
    for (const index of orderViewIndexes) await this.orderViews.createIndexes([index]);
    this.logger.log(`read store ready: database ${this.db.databaseName}`);
  }

  async ping(): Promise<void> {
    await this.db.command({ ping: 1 });
  }

  /** Runs after the HTTP server and the consumer have stopped, so no one still needs it. */
  async onApplicationShutdown(): Promise<void> {
    await this.client.close();
  }
}
