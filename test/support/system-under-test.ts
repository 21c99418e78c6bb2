import { createTestDatabase, type TestDatabase } from './mongo-test-database';
import { databaseUrl, dropDatabase } from './postgres';
import { createVhost, deleteVhost } from './rabbitmq';
import { startService, type ServiceProcess } from './service-process';
import { uniqueName } from './test-names';

/**
 * One system under test: its own database, vhost and read store, and both services started
 * from dist/ against them (`serviceEnv` is added to every service's environment).
 */
export class SystemUnderTest {
  readonly commands: ServiceProcess[] = [];
  readonly queries: ServiceProcess[] = [];

  private constructor(
    readonly database: string,
    readonly vhost: string,
    readonly amqpUrl: string,
    readonly readStore: TestDatabase,
    private readonly serviceEnv: Record<string, string>,
  ) {}

  static async create(
    prefix: string,
    serviceEnv: Record<string, string> = {},
  ): Promise<SystemUnderTest> {
    const database = uniqueName(prefix);
    const vhost = uniqueName(prefix);
    const amqpUrl = await createVhost(vhost);
    const readStore = await createTestDatabase(prefix);
    return new SystemUnderTest(database, vhost, amqpUrl, readStore, serviceEnv);
  }

  get databaseUrl(): string {
    return databaseUrl(this.database);
  }

  async startQuery(commandServiceUrl?: string): Promise<ServiceProcess> {
    const service = await startService('query', {
      MONGODB_URL: this.readStore.url,
      RABBITMQ_URL: this.amqpUrl,
      ...this.serviceEnv,
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
      ...this.serviceEnv,
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
