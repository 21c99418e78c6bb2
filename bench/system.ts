import { createTestDatabase, type TestDatabase } from '../test/support/mongo-test-database';
import { databaseUrl, dropDatabase } from '../test/support/postgres';
import { createVhost, deleteVhost } from '../test/support/rabbitmq';
import { startService, type ServiceProcess } from '../test/support/service-process';
import { uniqueName } from '../test/support/test-names';

/** One system under test: its own database, vhost and read store, services from dist/. */
export class SystemUnderTest {
  readonly commands: ServiceProcess[] = [];
  readonly queries: ServiceProcess[] = [];

  private constructor(
    readonly database: string,
    readonly vhost: string,
    readonly amqpUrl: string,
    readonly readStore: TestDatabase,
  ) {}

  static async create(): Promise<SystemUnderTest> {
    const database = uniqueName('orders_bench');
    const vhost = uniqueName('orders_bench');
    const amqpUrl = await createVhost(vhost);
    const readStore = await createTestDatabase('orders_bench');
    return new SystemUnderTest(database, vhost, amqpUrl, readStore);
  }

  get databaseUrl(): string {
    return databaseUrl(this.database);
  }

  async startQuery(commandServiceUrl?: string): Promise<ServiceProcess> {
    const service = await startService('query', {
      MONGODB_URL: this.readStore.url,
      RABBITMQ_URL: this.amqpUrl,
      LOG_LEVEL: 'error',
      RATE_LIMIT_PER_MINUTE: '0',
      ...(commandServiceUrl ? { COMMAND_SERVICE_URL: commandServiceUrl } : {}),
    });
    this.queries.push(service);
    return service;
  }

  /** Starts a query service only for it to declare and bind its queue, then stops it. */
  async declareQueryQueue(): Promise<void> {
    await (await this.startQuery()).stop();
    this.queries.pop();
  }

  async startCommand(env: Record<string, string> = {}): Promise<ServiceProcess> {
    const service = await startService('command', {
      DATABASE_URL: this.databaseUrl,
      RABBITMQ_URL: this.amqpUrl,
      LOG_LEVEL: 'error',
      RATE_LIMIT_PER_MINUTE: '0',
      ...env,
    });
    this.commands.push(service);
    return service;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.commands.splice(0), ...this.queries.splice(0)].map((s) => s.stop()));
  }

  async destroy(): Promise<void> {
    await this.stopAll();
    await this.readStore.drop();
    await deleteVhost(this.vhost);
    await dropDatabase(this.database);
  }
}
