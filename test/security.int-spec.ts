import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  hs256Token,
  nowSeconds,
  rs256Token,
  rsaKeyPair,
  unsecuredToken,
  type Claims,
} from './support/jwt';
import { databaseUrl, dropDatabase } from './support/postgres';
import { createVhost, deleteVhost } from './support/rabbitmq';
import { startService, type ServiceProcess } from './support/service-process';
import { uniqueName } from './support/test-names';
import { waitFor } from './support/wait-for';

const SECRET = 'security-test-secret-0123456789abcdef';
const ISSUER = 'https://issuer.test/';
const AUDIENCE = 'orders-api';
const COMMAND_MAIN = join(
  __dirname,
  '..',
  'dist/apps/command-service/apps/command-service/src/main.js',
);

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

const claims = (overrides: Claims = {}): Claims => ({
  sub: 'client-1',
  iss: ISSUER,
  aud: AUDIENCE,
  exp: nowSeconds() + 300,
  scope: 'orders:write orders:read',
  ...overrides,
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const placeOrder = { customerId: 'c-1', currency: 'EUR' };

async function send(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: unknown,
): Promise<Answer> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const isJson = /json/.test(response.headers.get('content-type') ?? '');
  return {
    status: response.status,
    headers: response.headers,
    body: isJson && text ? (JSON.parse(text) as Record<string, unknown>) : { text },
  };
}

describe('security: bearer tokens, scopes and rate limits (contract §7)', () => {
  const database = uniqueName('orders_security');
  const vhost = uniqueName('orders_security');
  let amqpUrl: string;
  let service: ServiceProcess;
  let sql: Client;
  const readToken = hs256Token(SECRET, claims({ scope: 'orders:read' }));

  const commonEnv = () => ({
    DATABASE_URL: databaseUrl(database),
    RABBITMQ_URL: amqpUrl,
    RELAY_ENABLED: 'false',
  });

  beforeAll(async () => {
    amqpUrl = await createVhost(vhost);
    sql = new Client({ connectionString: databaseUrl(database) });
    service = await startService('command', {
      ...commonEnv(),
      AUTH_JWT_SECRET: SECRET,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
    });
    await sql.connect();
  });

  afterAll(async () => {
    await service.stop();
    await sql.end();
    await deleteVhost(vhost);
    await dropDatabase(database);
  });

  /**
   * Events in the feed, read with a valid token once the feed shows every committed event (an
   * open transaction anywhere in the cluster can hold the feed back for a moment).
   */
  async function eventCount(): Promise<number> {
    const stored = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM order_events');
    const expected = stored.rows[0]!.n;
    return waitFor(`the feed to show ${expected} events`, async () => {
      const feed = await send(service.url, 'GET', '/events?limit=1000', bearer(readToken));
      expect(feed.status).toBe(200);
      const count = (feed.body.events as unknown[]).length;
      return count === expected && count;
    });
  }

  const refusals: [string, () => Record<string, string>, number, string][] = [
    ['no Authorization header', () => ({}), 401, 'AUTHENTICATION_REQUIRED'],
    [
      'a Basic Authorization header',
      () => ({ authorization: 'Basic dXNlcjpwdw==' }),
      401,
      'AUTHENTICATION_REQUIRED',
    ],
    ['a bearer value that is not a JWT', () => bearer('not-a-jwt'), 401, 'INVALID_TOKEN'],
    [
      'an expired token',
      () => bearer(hs256Token(SECRET, claims({ exp: nowSeconds() - 3600 }))),
      401,
      'INVALID_TOKEN',
    ],
    [
      'a token not valid yet (nbf)',
      () => bearer(hs256Token(SECRET, claims({ nbf: nowSeconds() + 3600 }))),
      401,
      'INVALID_TOKEN',
    ],
    [
      'a token without exp',
      () => bearer(hs256Token(SECRET, claims({ exp: undefined }))),
      401,
      'INVALID_TOKEN',
    ],
    [
      'another audience',
      () => bearer(hs256Token(SECRET, claims({ aud: 'another-api' }))),
      401,
      'INVALID_TOKEN',
    ],
    [
      'another issuer',
      () => bearer(hs256Token(SECRET, claims({ iss: 'https://evil.test/' }))),
      401,
      'INVALID_TOKEN',
    ],
    ['alg: none', () => bearer(unsecuredToken(claims())), 401, 'INVALID_TOKEN'],
    [
      'HS256 signed with another secret',
      () => bearer(hs256Token('another-secret-0123456789abcdef-xyz', claims())),
      401,
      'INVALID_TOKEN',
    ],
    [
      'RS256 while HS256 is configured',
      () => bearer(rs256Token(rsaKeyPair().privateKey, claims())),
      401,
      'INVALID_TOKEN',
    ],
    [
      'a read-only token on a command',
      () => bearer(hs256Token(SECRET, claims({ scope: 'orders:read' }))),
      403,
      'INSUFFICIENT_SCOPE',
    ],
    [
      'a token without scopes on a command',
      () => bearer(hs256Token(SECRET, claims({ scope: undefined }))),
      403,
      'INSUFFICIENT_SCOPE',
    ],
  ];

  it.each(refusals)('refuses %s and changes nothing', async (_case, headers, status, code) => {
    const before = await eventCount();
    const answer = await send(service.url, 'POST', '/orders', headers(), placeOrder);
    expect(answer.status).toBe(status);
    expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(answer.body).toMatchObject({ status, code });
    const challenge = answer.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer /);
    if (code === 'INVALID_TOKEN') expect(challenge).toContain('error="invalid_token"');
    if (status === 403) expect(challenge).toContain('scope="orders:write"');
    expect(await eventCount()).toBe(before);
  });

  it('accepts a valid write token, with scopes in `scope` or in an `scp` array', async () => {
    const before = await eventCount();
    const placed = await send(
      service.url,
      'POST',
      '/orders',
      bearer(hs256Token(SECRET, claims())),
      placeOrder,
    );
    expect(placed.status).toBe(201);
    const scp = hs256Token(SECRET, claims({ scope: undefined, scp: ['orders:write'] }));
    const added = await send(
      service.url,
      'POST',
      `/orders/${placed.body.orderId as string}/items`,
      bearer(scp),
      { sku: 'sku-1', quantity: 1, unitPrice: 100 },
    );
    expect(added.status).toBe(200);
    expect(await eventCount()).toBe(before + 2);
  });

  it('needs orders:read on the event feed', async () => {
    const writeOnly = hs256Token(SECRET, claims({ scope: 'orders:write' }));
    expect((await send(service.url, 'GET', '/events', bearer(writeOnly))).status).toBe(403);
    expect((await send(service.url, 'GET', '/events')).status).toBe(401);
  });

  it('leaves health, metrics and docs open', async () => {
    for (const path of ['/health/live', '/health/ready', '/metrics', '/docs-json', '/docs']) {
      expect([path, (await send(service.url, 'GET', path)).status]).toEqual([path, 200]);
    }
  });

  it('sends secure headers, also on refusals', async () => {
    for (const answer of [
      await send(service.url, 'GET', '/health/live'),
      await send(service.url, 'POST', '/orders', {}, placeOrder),
    ]) {
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      expect(answer.headers.get('x-frame-options')).toBe('DENY');
      expect(answer.headers.get('referrer-policy')).toBe('no-referrer');
      expect(answer.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(answer.headers.get('x-powered-by')).toBeNull();
    }
    // The docs UI loads its own scripts and styles: helmet's default policy, still unframable.
    const docs = await send(service.url, 'GET', '/docs');
    expect(docs.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(docs.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(docs.headers.get('x-frame-options')).toBe('DENY');
  });

  it('refuses to start in production without auth, naming the variables', () => {
    const run = spawnSync(process.execPath, [COMMAND_MAIN], {
      env: { PATH: process.env.PATH, ...commonEnv(), NODE_ENV: 'production', PORT: '0' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).not.toBe(0);
    expect(run.status).not.toBeNull();
    expect(run.stderr).toContain('AUTH_JWT_SECRET');
    expect(run.stderr).toContain('AUTH_JWKS_URL');
  });

  it('refuses to start with a secret but no issuer or audience', () => {
    const run = spawnSync(process.execPath, [COMMAND_MAIN], {
      env: { PATH: process.env.PATH, ...commonEnv(), AUTH_JWT_SECRET: SECRET, PORT: '0' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('AUTH_ISSUER');
    expect(run.stderr).toContain('AUTH_AUDIENCE');
  });

  describe('with RS256 keys from a JWKS URL', () => {
    const keys = rsaKeyPair();
    let jwksServer: Server;
    let jwksService: ServiceProcess;

    beforeAll(async () => {
      const jwk = {
        ...keys.publicKey.export({ format: 'jwk' }),
        kid: 'test-key',
        alg: 'RS256',
        use: 'sig',
      };
      jwksServer = createServer((_request, response) => {
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify({ keys: [jwk] }));
      });
      await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
      const { port } = jwksServer.address() as AddressInfo;
      jwksService = await startService('command', {
        ...commonEnv(),
        AUTH_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
        AUTH_ISSUER: ISSUER,
        AUTH_AUDIENCE: AUDIENCE,
      });
    });

    afterAll(async () => {
      await jwksService.stop();
      await new Promise((resolve) => jwksServer.close(resolve));
    });

    it('accepts tokens signed by a published key and nothing else', async () => {
      const valid = rs256Token(keys.privateKey, claims());
      expect(
        (await send(jwksService.url, 'POST', '/orders', bearer(valid), placeOrder)).status,
      ).toBe(201);
      const unknownKey = rs256Token(rsaKeyPair().privateKey, claims());
      const hs256 = hs256Token(SECRET, claims());
      for (const token of [unknownKey, hs256, unsecuredToken(claims())]) {
        const answer = await send(jwksService.url, 'POST', '/orders', bearer(token), placeOrder);
        expect(answer.status).toBe(401);
        expect(answer.body.code).toBe('INVALID_TOKEN');
      }
    });
  });

  describe('rate limits', () => {
    let limited: ServiceProcess;

    beforeAll(async () => {
      limited = await startService('command', {
        ...commonEnv(),
        AUTH_JWT_SECRET: SECRET,
        AUTH_ISSUER: ISSUER,
        AUTH_AUDIENCE: AUDIENCE,
        RATE_LIMIT_PER_MINUTE: '3',
      });
    });

    afterAll(async () => {
      await limited.stop();
    });

    it('answers 429 with Retry-After past the limit, per client, never on health or metrics', async () => {
      const first = bearer(hs256Token(SECRET, claims({ sub: 'client-a' })));
      const second = bearer(hs256Token(SECRET, claims({ sub: 'client-b' })));
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        statuses.push((await send(limited.url, 'GET', '/events', first)).status);
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      const refused = await send(limited.url, 'GET', '/events', first);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(refused.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);

      expect((await send(limited.url, 'GET', '/events', second)).status).toBe(200);
      for (let i = 0; i < 5; i++) {
        expect((await send(limited.url, 'GET', '/health/live')).status).toBe(200);
        expect((await send(limited.url, 'GET', '/metrics')).status).toBe(200);
      }
    });

    it('limits clients without a valid token by address', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        statuses.push(
          (await send(limited.url, 'POST', '/orders', bearer('bad.token.here'), placeOrder)).status,
        );
      }
      expect(statuses).toEqual([401, 401, 401, 429]);
    });
  });
});
