import {
  bootstrapQueryService,
  type RunningQueryService,
} from '../apps/query-service/src/bootstrap-query-service';
import { createTestDatabase, type TestDatabase } from './support/mongo-test-database';

/** RabbitMQ out of reach is the server's outage: an admin route answers 503, never a bare 500. */
describe('query admin routes while RabbitMQ is unreachable', () => {
  let database: TestDatabase;
  let service: RunningQueryService;

  beforeAll(async () => {
    database = await createTestDatabase('orders_admin_outage');
    service = await bootstrapQueryService({
      config: {
        port: 0,
        mongodbUrl: database.url,
        // Nothing listens on port 1.
        rabbitmqUrl: 'amqp://guest:guest@127.0.0.1:1/',
      },
      logger: process.env.TEST_LOGS ? undefined : false,
    });
  });

  afterAll(async () => {
    await service?.app.close();
    await database?.drop();
  });

  it('answers a rebuild request 503 with Retry-After, and starts nothing', async () => {
    const answer = await fetch(`${service.url}/admin/rebuild`, { method: 'POST' });
    expect(answer.status).toBe(503);
    expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(answer.headers.get('retry-after')).toBe('5');
    expect(await answer.json()).toMatchObject({ code: 'REBUILD_UNAVAILABLE' });
    const status = await (await fetch(`${service.url}/admin/rebuild`)).json();
    expect(status).toMatchObject({ rebuild: null, runningHere: false });
  });
});
