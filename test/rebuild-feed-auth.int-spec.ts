import { loadQueryServiceConfig } from '../apps/query-service/src/config/query-service.config';
import {
  EventFeedClient,
  FeedAuthorizationError,
  FeedContentError,
} from '../apps/query-service/src/rebuild/event-feed.client';
import { hs256Token, nowSeconds, type Claims } from './support/jwt';
import { databaseUrl, dropDatabase } from './support/postgres';
import { createVhost, deleteVhost } from './support/rabbitmq';
import { startService, type ServiceProcess } from './support/service-process';
import { uniqueName } from './support/test-names';
import { waitFor } from './support/wait-for';

const SECRET = 'rebuild-feed-secret-0123456789abcdef-01';
const ISSUER = 'https://issuer.rebuild/';
const AUDIENCE = 'orders-api';

/**
 * The rebuild's feed client against a command service with auth on (contract §7: GET /events
 * needs orders:read): it sends COMMAND_SERVICE_TOKEN, and without a usable one it fails at
 * once with an error naming the variable (a FeedContentError, which the rebuild does not retry).
 */
describe('rebuild feed client with the command service’s auth on', () => {
  const database = uniqueName('orders_feed_auth');
  const vhost = uniqueName('orders_feed_auth');
  let command: ServiceProcess;
  let orderId: string;

  const token = (overrides: Claims = {}) =>
    hs256Token(SECRET, {
      sub: 'query-service',
      iss: ISSUER,
      aud: AUDIENCE,
      exp: nowSeconds() + 300,
      scope: 'orders:read',
      ...overrides,
    });
  const feedClient = (commandServiceToken?: string) =>
    new EventFeedClient(
      loadQueryServiceConfig(
        {},
        {
          COMMAND_SERVICE_URL: command.url,
          ...(commandServiceToken === undefined
            ? {}
            : { COMMAND_SERVICE_TOKEN: commandServiceToken }),
        },
      ),
    );

  beforeAll(async () => {
    command = await startService('command', {
      DATABASE_URL: databaseUrl(database),
      RABBITMQ_URL: await createVhost(vhost),
      RELAY_ENABLED: 'false',
      AUTH_JWT_SECRET: SECRET,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
    });
    const placed = await fetch(`${command.url}/orders`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token({ scope: 'orders:write' })}`,
      },
      body: JSON.stringify({ customerId: 'feed-auth', currency: 'EUR' }),
    });
    expect(placed.status).toBe(201);
    orderId = ((await placed.json()) as { orderId: string }).orderId;
  });

  afterAll(async () => {
    await command.stop();
    await deleteVhost(vhost);
    await dropDatabase(database);
  });

  it('reads the feed with COMMAND_SERVICE_TOKEN', async () => {
    const client = feedClient(token());
    const page = await waitFor('the feed to show the order', async () => {
      const read = await client.readPage('0', 100);
      return read.events.length > 0 && read;
    });
    expect(page.events.map((event) => [event.orderId, event.type])).toEqual([
      [orderId, 'OrderPlaced'],
    ]);
  });

  it.each([
    ['no token', undefined, 401, /set COMMAND_SERVICE_TOKEN/],
    [
      'an expired token',
      token({ exp: nowSeconds() - 600 }),
      401,
      /COMMAND_SERVICE_TOKEN was refused/,
    ],
    [
      'a token without orders:read',
      token({ scope: 'orders:write' }),
      403,
      /lacks scope orders:read/,
    ],
  ])(
    'fails at once with %s, naming COMMAND_SERVICE_TOKEN',
    async (_case, value, status, reason) => {
      const started = Date.now();
      const failure = await feedClient(value)
        .readPage('0', 100)
        .then(
          () => null,
          (error: unknown) => error,
        );
      expect(failure).toBeInstanceOf(FeedAuthorizationError);
      expect(failure).toBeInstanceOf(FeedContentError);
      expect((failure as Error).message).toContain(`HTTP ${status}`);
      expect((failure as Error).message).toMatch(reason);
      expect(Date.now() - started).toBeLessThan(5_000);
    },
  );
});
