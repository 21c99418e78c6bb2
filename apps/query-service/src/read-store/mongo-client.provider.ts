import type { FactoryProvider } from '@nestjs/common';
import { MongoClient } from 'mongodb';
import { QUERY_SERVICE_CONFIG, type QueryServiceConfig } from '../config/query-service.config';

export const MONGO_CLIENT = Symbol('MONGO_CLIENT');

export const mongoClientProvider: FactoryProvider<Promise<MongoClient>> = {
  provide: MONGO_CLIENT,
  inject: [QUERY_SERVICE_CONFIG],
  useFactory: async (config: QueryServiceConfig) => {
    const client = new MongoClient(config.mongodbUrl, {
      appName: 'orders-query-service',
      // Optional fields are left out of documents instead of being stored as null.
      ignoreUndefined: true,
      serverSelectionTimeoutMS: 10_000,
    });
    // Fails start if the read store is unreachable: the service cannot answer anything without it.
    await client.connect();
    return client;
  },
};
