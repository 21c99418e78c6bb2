import { MongoClient, type CommandStartedEvent } from 'mongodb';
import { loadQueryServiceConfig } from '../../apps/query-service/src/config/query-service.config';
import { MongoHeartbeatWatchdog } from '../../apps/query-service/src/read-store/mongo-heartbeat.watchdog';
import { ReadModelGenerations } from '../../apps/query-service/src/read-store/read-model-generations';
import { ReadStore } from '../../apps/query-service/src/read-store/read-store.service';
import { createTestDatabase, type TestDatabase } from './mongo-test-database';

export interface MonitoredReadStore {
  generations: ReadModelGenerations;
  /** Every `find` on an order-views collection sent since it was last emptied. */
  viewReads: CommandStartedEvent[];
  close(): Promise<void>;
}

/**
 * The query service's read store on a test database of its own, through a client that reports
 * every command it sends, so a test can count the view reads.
 */
export async function openMonitoredReadStore(prefix: string): Promise<MonitoredReadStore> {
  const store: TestDatabase = await createTestDatabase(prefix);
  const client = new MongoClient(store.url, { monitorCommands: true });
  await client.connect();
  const config = loadQueryServiceConfig(
    {},
    { MONGODB_URL: store.url, RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672/%2F' },
  );
  const readStore = new ReadStore(
    client,
    new MongoHeartbeatWatchdog(client, { stuckAfterMs: 60_000 }),
    config,
  );
  const generations = new ReadModelGenerations(readStore);
  await generations.onModuleInit();
  const viewReads: CommandStartedEvent[] = [];
  client.on('commandStarted', (event: CommandStartedEvent) => {
    if (event.commandName === 'find' && String(event.command.find).startsWith('order_views')) {
      viewReads.push(event);
    }
  });
  return {
    generations,
    viewReads,
    close: async () => {
      await readStore.onApplicationShutdown();
      await store.drop();
    },
  };
}
