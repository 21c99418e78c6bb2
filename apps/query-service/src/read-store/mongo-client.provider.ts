import type { FactoryProvider } from '@nestjs/common';
import { MongoClient } from 'mongodb';
import { MongoHeartbeatWatchdog } from './mongo-heartbeat.watchdog';
import { QUERY_SERVICE_CONFIG, type QueryServiceConfig } from '../config/query-service.config';

export const MONGO_CLIENT = Symbol('MONGO_CLIENT');
export const MONGO_HEARTBEAT_WATCHDOG = Symbol('MONGO_HEARTBEAT_WATCHDOG');

const CONNECT_TIMEOUT_MS = 10_000;
const HEARTBEAT_FREQUENCY_MS = 10_000;

export const mongoClientProvider: FactoryProvider<Promise<MongoClient>> = {
  provide: MONGO_CLIENT,
  inject: [QUERY_SERVICE_CONFIG],
  useFactory: async (config: QueryServiceConfig) => {
    const client = new MongoClient(config.mongodbUrl, {
      appName: 'orders-query-service',
      // Optional fields are left out of documents instead of being stored as null.
      ignoreUndefined: true,
      serverSelectionTimeoutMS: 10_000,
      connectTimeoutMS: CONNECT_TIMEOUT_MS,
      heartbeatFrequencyMS: HEARTBEAT_FREQUENCY_MS,
    });
    // Fails start if the read store is unreachable: the service cannot answer anything without it.
    await client.connect();
    return client;
  },
};

/**
 * A heartbeat waits at most the heartbeat interval (streaming) plus the connect timeout (its
 * socket timeout); one still running 10 s after that will not end by itself.
 */
export const mongoHeartbeatWatchdogProvider: FactoryProvider<MongoHeartbeatWatchdog> = {
  provide: MONGO_HEARTBEAT_WATCHDOG,
  inject: [MONGO_CLIENT],
  useFactory: (client: MongoClient) =>
    new MongoHeartbeatWatchdog(client, {
      stuckAfterMs: HEARTBEAT_FREQUENCY_MS + CONNECT_TIMEOUT_MS + 10_000,
    }),
};
