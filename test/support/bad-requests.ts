import {
  addItemBody,
  cancelOrderBody,
  currencySchema,
  identifierSchema,
  orderIdSchema,
  orderStatusSchema,
  payOrderBody,
  placeOrderBody,
  shipOrderBody,
} from '@orders/contracts';
import fc from 'fast-check';
import type { z } from 'zod';

/**
 * Requests for the HTTP fuzz test: generators that break one or more parts of a request the
 * contract (../shared/spec/orders.md §3, §5, §7 and libs/contracts) describes, and
 * `whyMustFail`, the contract's verdict on a generated request. A request the verdict cannot
 * prove bad is never sent, so a request that is valid by chance never counts as a bad one.
 */
export interface FuzzRequest {
  service: 'command' | 'query';
  method: string;
  /** Path and query string, as sent (already percent-encoded where meant to be). */
  path: string;
  headers: Record<string, string>;
  /** Described rather than held as bytes, so a failing case prints readably. */
  body?: { spec: BodySpec; chunked: boolean };
}

export interface SeedOrder {
  orderId: string;
  version: number;
}

export interface Token {
  header: string | undefined;
  valid: boolean;
  scopes: string[];
}

export interface FuzzWorld {
  seeds: SeedOrder[];
  /** Authorization headers to try when auth is on: valid and invalid ones. */
  tokens: { good: Token; bad: Token[] };
}

const MAX_BODY_BYTES = 64 * 1024;

// ---------------------------------------------------------------- bad values per field

/** `arbitrary` one time in `oneIn`, otherwise null (fc.option's freq is the other way round). */
const sometimes = <T>(arbitrary: fc.Arbitrary<T>, oneIn: number) =>
  fc.oneof({ weight: 1, arbitrary }, { weight: oneIn - 1, arbitrary: fc.constant(null) });

const junkJson = fc.constantFrom<unknown>(null, true, [], {}, 'x', 0, -1, 1.5, [1], { a: 1 });
const badIdentifier = fc.oneof(
  junkJson,
  fc.constantFrom('', 'a'.repeat(65), 'has space', 'slash/es', 'é', '<b>', 'tab\t', '$ne', '#1'),
  fc
    .string({ minLength: 65, maxLength: 200 })
    .map((text) => text.replace(/[^A-Za-z0-9_.:-]/g, 'a')),
);
const badCurrency = fc.oneof(
  junkJson,
  fc.constantFrom('eur', 'EURO', 'EU', 'E1R', '', ' EUR', '€'),
);
const badQuantity = fc.oneof(
  junkJson,
  fc.constantFrom(0, 1001, 2.5, '5', 1e21, -5),
  fc.integer({ min: 1001, max: 2_000_000_000 }),
  fc.integer({ max: 0 }),
);
const badUnitPrice = fc.oneof(
  junkJson,
  fc.constantFrom(-1, 100_000_001, 0.5, '100', 2 ** 60),
  fc.integer({ min: 100_000_001 }),
);
const badAmount = fc.oneof(junkJson, fc.constantFrom(-1, 1.25, '100', 2 ** 60, 1e300));
const badText = (max: number) =>
  fc.oneof(junkJson, fc.constant(''), fc.string({ minLength: max + 1, maxLength: max + 40 }));
const badUuid = fc.oneof(
  junkJson,
  fc.constantFrom('abc', '123', '', '00000000-0000-0000-0000-00000000000g'),
  fc.uuid().map((id) => id.replaceAll('-', '')),
  fc.uuid().map((id) => `${id}0`),
  fc.uuid().map((id) => id.slice(1)),
);
const unknownField = fc
  .string({ minLength: 1, maxLength: 12 })
  .filter((name) => !['__proto__', 'constructor', 'prototype'].includes(name));

type Json = Record<string, unknown>;

const validLine = (): Json => ({ sku: 'FUZZ-1', quantity: 1, unitPrice: 100 });

/** A command body with some of its fields broken (or removed, or joined by unknown ones). */
function brokenBody(valid: () => Json, fields: Record<string, fc.Arbitrary<unknown>>) {
  type Mutation = { field: string; value?: unknown; drop?: true };
  const names = Object.keys(fields);
  const mutation = fc.oneof(
    ...names.map((field) => fields[field]!.map((value): Mutation => ({ field, value }))),
    fc.constantFrom(...names).map((field): Mutation => ({ field, drop: true })),
    fc.tuple(unknownField, junkJson).map(([field, value]): Mutation => ({ field, value })),
  );
  return fc.array(mutation, { minLength: 1, maxLength: 3 }).map((mutations) => {
    const body = valid();
    for (const m of mutations) {
      if (m.drop) body[m.field] = undefined;
      else body[m.field] = m.value;
    }
    // A dropped field is left out of the JSON, as undefined values are.
    return body;
  });
}

// Each field gets the bad values of its own type; `set` picks one of them.
const lineFields = { sku: badIdentifier, quantity: badQuantity, unitPrice: badUnitPrice };

const placeBody = fc.oneof(
  brokenBody(() => ({ customerId: 'fuzz-customer', currency: 'EUR', items: [validLine()] }), {
    orderId: badUuid,
    customerId: badIdentifier,
    currency: badCurrency,
    items: fc.oneof(junkJson, fc.array(junkJson, { minLength: 1, maxLength: 3 })),
  }),
  // A broken line inside items, more than 100 lines, or one sku twice.
  brokenBody(validLine, lineFields).map((line) => ({
    customerId: 'fuzz-customer',
    currency: 'EUR',
    items: [line],
  })),
  fc.integer({ min: 101, max: 130 }).map((count) => ({
    customerId: 'fuzz-customer',
    currency: 'EUR',
    items: Array.from({ length: count }, (_, i) => ({ ...validLine(), sku: `S-${i}` })),
  })),
  fc.constant({ customerId: 'fuzz-customer', currency: 'EUR', items: [validLine(), validLine()] }),
);

const commandRoutes = [
  { name: 'place', method: 'POST', path: () => '/orders', body: placeBody, schema: placeOrderBody },
  {
    name: 'add-item',
    method: 'POST',
    path: (id: string) => `/orders/${id}/items`,
    body: brokenBody(validLine, lineFields),
    schema: addItemBody,
  },
  {
    name: 'pay',
    method: 'POST',
    path: (id: string) => `/orders/${id}/pay`,
    body: brokenBody(() => ({ paymentId: 'pay-1', amount: 100 }), {
      paymentId: badIdentifier,
      amount: badAmount,
    }),
    schema: payOrderBody,
  },
  {
    name: 'ship',
    method: 'POST',
    path: (id: string) => `/orders/${id}/ship`,
    body: brokenBody(() => ({ carrier: 'dhl', trackingNumber: 'T-1' }), {
      carrier: badText(64),
      trackingNumber: badText(64),
    }),
    schema: shipOrderBody,
  },
  {
    name: 'cancel',
    method: 'POST',
    path: (id: string) => `/orders/${id}/cancel`,
    body: brokenBody(() => ({ reason: 'fuzz' }), { reason: badText(500) }),
    schema: cancelOrderBody,
  },
  {
    name: 'confirm',
    method: 'POST',
    path: (id: string) => `/orders/${id}/confirm`,
    body: fc.oneof<fc.Arbitrary<unknown>[]>(
      junkJson,
      fc.dictionary(unknownField, junkJson, { minKeys: 1, maxKeys: 2 }),
    ),
    schema: null,
  },
  {
    name: 'remove-item',
    method: 'DELETE',
    path: (id: string, sku = 'FUZZ-1') => `/orders/${id}/items/${sku}`,
    body: fc.oneof<fc.Arbitrary<unknown>[]>(
      junkJson,
      fc.dictionary(unknownField, junkJson, { minKeys: 1, maxKeys: 2 }),
    ),
    schema: null,
  },
] as const;

// ---------------------------------------------------------------- request parts

/** An order id for a path: a seed order, an unknown uuid, or something that is not a uuid. */
const pathId = (seeds: SeedOrder[]) =>
  fc
    .oneof(
      { weight: 3, arbitrary: fc.constantFrom(...seeds.map((seed) => seed.orderId)) },
      { weight: 1, arbitrary: fc.uuid() },
      {
        weight: 2,
        arbitrary: fc.oneof(
          badUuid.filter((value) => typeof value === 'string' && value !== ''),
          fc.constantFrom('%zz', '%E0%A4%A', '..', '%2e%2e', '%00', 'a%2Fb', '%20'),
          fc.string({ minLength: 1, maxLength: 80 }),
        ),
      },
    )
    .map((id) =>
      typeof id === 'string' && /^[A-Za-z0-9%._~-]+$/.test(id)
        ? id
        : encodeURIComponent(String(id)),
    );

const badIfMatch = fc.oneof(
  fc.constantFrom('3', '*', '"abc"', '"-1"', '""', 'W/"x"', '"1", "2"', '"1', 'null', '"1.5"'),
  fc.integer({ min: 50, max: 999_999 }).map((version) => `"${version}"`),
  fc.string({ maxLength: 20 }),
);
const badIdempotencyKey = fc.oneof(
  fc.constantFrom('', 'has space', 'tab\tkey', 'caf\xe9', ' lead'),
  fc.string({ minLength: 129, maxLength: 200 }).map((text) => text.replace(/[^\x21-\x7e]/g, 'k')),
);
const badConsistencyToken = fc.oneof(
  fc.constantFrom('abc', '', '!!!', 'W1sxXV0', Buffer.from('[2,"x",1,"1"]').toString('base64url')),
  fc.string({ maxLength: 60 }),
  fc.string({ minLength: 201, maxLength: 260 }).map((text) => text.replace(/[^A-Za-z0-9_-]/g, 'A')),
  fc
    .tuple(fc.integer(), fc.uuid(), fc.integer({ max: 0 }), fc.nat())
    .map(([v, id, version, position]) =>
      Buffer.from(JSON.stringify([v === 1 ? 2 : v, id, version, String(position)])).toString(
        'base64url',
      ),
    ),
);
const badTimeout = fc.constantFrom('abc', '-1', '10001', '1.5', '99999999', '', '1e3x');

/** A well-formed token for a seed order at a version it never reaches: a wait that must lose. */
const tokenAhead = (seeds: SeedOrder[]) =>
  fc
    .constantFrom(...seeds)
    .map((seed) =>
      Buffer.from(JSON.stringify([1, seed.orderId, seed.version + 50, '1'])).toString('base64url'),
    );

const oddMethod = fc.constantFrom('PUT', 'PATCH', 'OPTIONS', 'PROPFIND', 'FOO', 'TRACE', 'LOCK');

const wrongContentType = fc.constantFrom(
  undefined,
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'text/json',
  'application/jsonx',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
);

export type BodySpec =
  | { kind: 'json'; value: unknown }
  | { kind: 'text'; text: string }
  | { kind: 'oversize'; size: number };

const malformedJson = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.tuple(fc.jsonValue(), fc.nat()).map(([value, cut]) => {
    const text = JSON.stringify(value) ?? '';
    return text.slice(0, text.length === 0 ? 0 : cut % text.length);
  }),
  fc.constantFrom('{', '{"a":', "{'a':1}", '{"a":1,}', 'NaN', '{"a":undefined}', '[1,]', '"x'),
);

export function bodyBytes(spec: BodySpec): Buffer {
  switch (spec.kind) {
    case 'json':
      return Buffer.from(JSON.stringify(spec.value) ?? '', 'utf8');
    case 'text':
      return Buffer.from(spec.text, 'utf8');
    case 'oversize': {
      const pad = 'p'.repeat(spec.size);
      return Buffer.from(JSON.stringify({ customerId: 'c', currency: 'EUR', pad }), 'utf8');
    }
  }
}

// ---------------------------------------------------------------- whole requests

const authHeader = (world: FuzzWorld, authOn: boolean) =>
  authOn
    ? fc.oneof(
        { weight: 4, arbitrary: fc.constant(world.tokens.good) },
        { weight: 1, arbitrary: fc.constantFrom(...world.tokens.bad) },
      )
    : fc.constant<Token>({ header: undefined, valid: false, scopes: [] });

function withAuth(headers: Record<string, string>, token: Token): Record<string, string> {
  return token.header === undefined ? headers : { ...headers, authorization: token.header };
}

export function commandRequest(world: FuzzWorld, authOn: boolean): fc.Arbitrary<FuzzRequest> {
  const route = fc.constantFrom(...commandRoutes);
  const command = fc
    .record({
      route,
      id: pathId(world.seeds),
      sku: fc.oneof(
        fc.constant('FUZZ-1'),
        badIdentifier.map((value) => encodeURIComponent(String(value))),
      ),
      method: sometimes(oddMethod, 6),
      withoutBody: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
      contentType: sometimes(wrongContentType, 5),
      rawBody: sometimes(
        fc.oneof(
          { weight: 3, arbitrary: malformedJson.map((text): BodySpec => ({ kind: 'text', text })) },
          {
            weight: 1,
            arbitrary: fc
              .integer({ min: MAX_BODY_BYTES, max: MAX_BODY_BYTES + 20_000 })
              .map((size): BodySpec => ({ kind: 'oversize', size })),
          },
        ),
        4,
      ),
      chunked: fc.boolean(),
      ifMatch: sometimes(badIfMatch, 4),
      idempotencyKey: sometimes(fc.oneof(badIdempotencyKey, fc.constant('fuzz-valid-key')), 4),
      token: authHeader(world, authOn),
    })
    .chain((parts) =>
      (parts.route.body as fc.Arbitrary<unknown>).map((value) => ({ ...parts, value })),
    )
    .map(({ route, id, sku, method, withoutBody, contentType, rawBody, chunked, ...parts }) => {
      const spec: BodySpec | undefined =
        rawBody ?? (withoutBody ? undefined : { kind: 'json', value: parts.value });
      const headers: Record<string, string> = {};
      if (spec !== undefined && contentType === null) headers['content-type'] = 'application/json';
      if (spec !== undefined && contentType !== null && contentType !== undefined) {
        headers['content-type'] = contentType;
      }
      if (parts.ifMatch !== null) headers['if-match'] = parts.ifMatch;
      if (parts.idempotencyKey !== null) headers['idempotency-key'] = parts.idempotencyKey;
      return {
        service: 'command' as const,
        method: method ?? route.method,
        path: route.name === 'remove-item' ? route.path(id, sku) : route.path(id),
        headers: withAuth(headers, parts.token),
        ...(spec === undefined ? {} : { body: { spec, chunked } }),
      };
    });
  const feed = fc
    .record({
      params: fc.array(
        fc.tuple(
          fc.constantFrom('after', 'limit', 'afterr', 'limit[]', 'x'),
          fc.oneof(
            fc.constantFrom('-1', 'abc', '0', '1001', '1.5', '', '0x', '1e999', '%zz'),
            fc.string({ maxLength: 10 }),
          ),
        ),
        { minLength: 1, maxLength: 3 },
      ),
      token: authHeader(world, authOn),
    })
    .map(({ params, token }) => ({
      service: 'command' as const,
      method: 'GET',
      path: `/events?${params.map(([k, v]) => `${k}=${escapeQueryValue(v)}`).join('&')}`,
      headers: withAuth({}, token),
    }));
  return fc.oneof({ weight: 6, arbitrary: command }, { weight: 1, arbitrary: feed });
}

/** Query values are percent-encoded unless they carry a deliberate bad escape. */
function escapeQueryValue(value: string): string {
  return value === '%zz' ? value : encodeURIComponent(value);
}

const badDate = fc.constantFrom(
  '2026-13-01',
  '2026-02-30',
  'yesterday',
  '2026-1-1',
  '1700000000',
  '2026-11-27T25:00:00Z',
  '',
  '27/11/2026',
);
const goodDay = fc
  .date({ min: new Date('2020-01-01'), max: new Date('2030-01-01'), noInvalidDate: true })
  .map((date) => date.toISOString().slice(0, 10));

const queryParamValues: Record<string, fc.Arbitrary<string>> = {
  limit: fc.constantFrom('0', '101', '-1', 'abc', '1.5', '', '1e2', '99999999999'),
  cursor: fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('AAAA', 'WzEsMiwzXQ')),
  status: fc.oneof(fc.constantFrom('DRAFT', 'open', '', 'paid '), fc.string({ maxLength: 8 })),
  customerId: badIdentifier.map(String),
  placedFrom: badDate,
  placedTo: badDate,
  currency: badCurrency.map(String),
  sortBy: fc.constantFrom('price', 'REVENUE', '', 'units'),
  from: badDate,
  to: badDate,
  atVersion: fc.constantFrom('0', '-1', 'abc', '1.5', '', '2000000001', '1e3'),
  asOf: badDate,
  $where: fc.constant('1'),
  'status[$ne]': fc.constant('x'),
};

export function queryRequest(world: FuzzWorld, authOn: boolean): fc.Arbitrary<FuzzRequest> {
  const route = fc.constantFrom('view', 'history', 'list', 'products', 'daily');
  return fc
    .record({
      route,
      id: pathId(world.seeds),
      params: fc.array(fc.tuple(fc.constantFrom(...Object.keys(queryParamValues)), fc.boolean()), {
        maxLength: 3,
      }),
      goodDays: fc.tuple(goodDay, goodDay),
      method: sometimes(fc.oneof(oddMethod, fc.constantFrom('POST', 'DELETE')), 6),
      consistencyToken: sometimes(fc.oneof(badConsistencyToken, tokenAhead(world.seeds)), 3),
      consistencyTimeout: sometimes(fc.oneof(badTimeout, fc.constantFrom('0', '20')), 3),
      token: authHeader(world, authOn),
    })
    .chain((parts) =>
      fc
        .tuple(...parts.params.map(([name]) => queryParamValues[name]!))
        .map((values) => ({ ...parts, values })),
    )
    .map((parts) => {
      const query: [string, string][] = parts.params.map(([name], i) => [name, parts.values[i]!]);
      // Daily stats need their three parameters; give them good ones unless broken above.
      if (parts.route === 'daily') {
        const [from, to] = [...parts.goodDays].sort();
        for (const [name, value] of [
          ['currency', 'EUR'],
          ['from', from!],
          ['to', to!],
        ] as const) {
          if (!query.some(([key]) => key === name)) query.push([name, value]);
        }
      }
      const path = {
        view: `/orders/${parts.id}`,
        history: `/orders/${parts.id}/history`,
        list: '/orders',
        products: '/stats/products',
        daily: '/stats/daily',
      }[parts.route];
      const search = query.map(([k, v]) => `${encodeURIComponent(k)}=${escapeQueryValue(v)}`);
      const headers: Record<string, string> = {};
      if (parts.consistencyToken !== null) headers['x-consistency-token'] = parts.consistencyToken;
      if (parts.consistencyTimeout !== null) {
        headers['x-consistency-timeout-ms'] = parts.consistencyTimeout;
      }
      return {
        service: 'query' as const,
        method: parts.method ?? 'GET',
        path: search.length > 0 ? `${path}?${search.join('&')}` : path,
        headers: withAuth(headers, parts.token),
      };
    });
}

// ---------------------------------------------------------------- the contract's verdict

const IF_MATCH = /^"(\d+)"$/;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Why the contract says this request cannot succeed, or null when it might (then it is not
 * sent). Written from the contract, not from the services' code: path and method must name a
 * route, ids are uuids of existing orders, bodies are ≤ 64 KiB of JSON matching the command's
 * schema, headers and query parameters have the documented shapes, tokens are valid.
 */
export function whyMustFail(
  request: FuzzRequest,
  world: FuzzWorld,
  authOn: boolean,
): string | null {
  // Split by hand: URL would resolve `..` and `%2e%2e` segments, which the services do not.
  const [pathname = '', search = ''] = request.path.split(/\?(.*)/s);
  const segments = pathname.split('/').slice(1);
  let decoded: string[];
  try {
    decoded = segments.map((segment) => decodeURIComponent(segment));
  } catch {
    return 'a path segment is not valid percent-encoding';
  }
  const route =
    request.service === 'command'
      ? commandRouteOf(request.method, decoded)
      : queryRouteOf(request.method, decoded);
  if (typeof route === 'string') return route;
  if (authOn) {
    const token = tokenOf(request, world);
    if (!token.valid) return 'the token is missing or invalid';
    if (!token.scopes.includes(route.scope)) return `the token lacks ${route.scope}`;
  }
  const params = [...new URLSearchParams(search)];
  const keys = params.map(([key]) => key);
  if (new Set(keys).size !== keys.length) return 'a query parameter is repeated';
  if (keys.some((key) => !route.params.includes(key))) return 'an unknown query parameter';
  const param = Object.fromEntries(params);
  return request.service === 'command'
    ? commandVerdict(request, route, param, world)
    : queryVerdict(request, route, param, world);
}

interface Route {
  name: string;
  scope: 'orders:read' | 'orders:write';
  id?: string;
  sku?: string;
  params: string[];
}

function commandRouteOf(method: string, s: string[]): Route | string {
  const write = (name: string, id?: string, sku?: string): Route => ({
    name,
    scope: 'orders:write',
    params: [],
    ...(id === undefined ? {} : { id }),
    ...(sku === undefined ? {} : { sku }),
  });
  if (s[0] === 'events' && s.length === 1 && method === 'GET') {
    return { name: 'events', scope: 'orders:read', params: ['after', 'limit'] };
  }
  if (s[0] !== 'orders') return 'no such route';
  if (s.length === 1 && method === 'POST') return write('place');
  if (
    s.length === 3 &&
    method === 'POST' &&
    ['items', 'pay', 'ship', 'cancel', 'confirm'].includes(s[2]!)
  ) {
    return write(s[2] === 'items' ? 'add-item' : s[2]!, s[1]);
  }
  if (s.length === 4 && method === 'DELETE' && s[2] === 'items')
    return write('remove-item', s[1], s[3]);
  return 'no such route';
}

function queryRouteOf(method: string, s: string[]): Route | string {
  if (method !== 'GET') return 'queries are GET only';
  const read = (name: string, params: string[], id?: string): Route => ({
    name,
    scope: 'orders:read',
    params,
    ...(id === undefined ? {} : { id }),
  });
  if (s[0] === 'orders' && s.length === 1) {
    return read('list', ['customerId', 'status', 'placedFrom', 'placedTo', 'limit', 'cursor']);
  }
  if (s[0] === 'orders' && s.length === 2) return read('view', ['atVersion', 'asOf'], s[1]);
  if (s[0] === 'orders' && s.length === 3 && s[2] === 'history') return read('history', [], s[1]);
  if (s[0] === 'stats' && s.length === 2 && s[1] === 'products') {
    return read('products', ['currency', 'sortBy', 'limit']);
  }
  if (s[0] === 'stats' && s.length === 2 && s[1] === 'daily') {
    return read('daily', ['currency', 'from', 'to']);
  }
  return 'no such route';
}

function tokenOf(request: FuzzRequest, world: FuzzWorld): Token {
  const header = request.headers.authorization;
  if (header === world.tokens.good.header) return world.tokens.good;
  return (
    world.tokens.bad.find((token) => token.header === header) ?? {
      header,
      valid: false,
      scopes: [],
    }
  );
}

const bodySchemas: Record<string, z.ZodType | null> = Object.fromEntries(
  commandRoutes.map((route) => [route.name, route.schema]),
);

function commandVerdict(
  request: FuzzRequest,
  route: Route,
  param: Record<string, string>,
  world: FuzzWorld,
): string | null {
  if (route.name === 'events') {
    if (param.after !== undefined && !/^[0-9]+$/.test(param.after))
      return 'after is not a position';
    if (param.limit !== undefined) {
      const limit = Number(param.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return 'limit is not 1..1000';
    }
    return null;
  }
  const body = request.body && bodyBytes(request.body.spec);
  if (body !== undefined && body.length > MAX_BODY_BYTES) return 'the body is over 64 KiB';
  let value: unknown;
  if (body !== undefined && body.length > 0) {
    const type = request.headers['content-type'];
    const json = /^application\/(?:[a-z0-9.-]+\+)?json\s*(?:;\s*charset=utf-8\s*)?$/i;
    if (type === undefined || !json.test(type)) return 'the body is not declared as UTF-8 JSON';
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch {
      return 'the body is not JSON';
    }
    if (typeof value !== 'object' || value === null)
      return 'the body is not a JSON object or array';
  }
  const schema = bodySchemas[route.name];
  if (schema === null || schema === undefined) {
    if (value !== undefined && (Array.isArray(value) || Object.keys(value as object).length > 0)) {
      return 'this command takes no body';
    }
  } else if (!schema.safeParse(value).success) {
    return 'the body does not match the command';
  }
  if (route.sku !== undefined && !identifierSchema.safeParse(route.sku).success) return 'bad sku';
  const ifMatch = request.headers['if-match'];
  const idempotencyKey = request.headers['idempotency-key'];
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
    return 'Idempotency-Key is not 1..128 visible ASCII characters';
  }
  if (route.name === 'place') {
    if (ifMatch !== undefined && !IF_MATCH.test(ifMatch)) return 'If-Match is not a quoted version';
    return null;
  }
  if (!orderIdSchema.safeParse(route.id).success) return 'the order id is not a uuid';
  const seed = world.seeds.find((order) => order.orderId === route.id);
  if (seed === undefined) return 'no such order';
  if (ifMatch !== undefined) {
    const version = IF_MATCH.exec(ifMatch)?.[1];
    if (version === undefined) return 'If-Match is not a quoted version';
    if (Number(version) !== seed.version) return 'If-Match names another version';
  }
  return null;
}

function queryVerdict(
  request: FuzzRequest,
  route: Route,
  param: Record<string, string>,
  world: FuzzWorld,
): string | null {
  const token = request.headers['x-consistency-token'];
  if (token !== undefined && !isWellFormedConsistencyToken(token)) {
    return 'X-Consistency-Token is not a token the command service issues';
  }
  const timeout = request.headers['x-consistency-timeout-ms'];
  if (timeout !== undefined) {
    const ms = Number(timeout.trim());
    if (timeout.trim() === '' || !Number.isInteger(ms) || ms < 0 || ms > 10_000) {
      return 'X-Consistency-Timeout-Ms is not 0..10000';
    }
  }
  const has = (name: string) => param[name] !== undefined;
  const limit = (max: number) => {
    if (!has('limit')) return true;
    const n = Number(param.limit);
    return /^[0-9]+$/.test(param.limit!) && n >= 1 && n <= max;
  };
  switch (route.name) {
    case 'view':
    case 'history': {
      if (!orderIdSchema.safeParse(route.id).success) return 'the order id is not a uuid';
      // With a well-formed token the contract lets the service wait and answer 503 for a
      // write it has not seen (it cannot tell a forged token), before it looks for the order.
      if (!world.seeds.some((seed) => seed.orderId === route.id) && token === undefined) {
        return 'no such order';
      }
      if (has('atVersion') && has('asOf')) return 'atVersion and asOf together';
      if (has('atVersion') && !/^[0-9]+$/.test(param.atVersion!))
        return 'atVersion is not a number';
      if (has('atVersion') && (Number(param.atVersion) < 1 || Number(param.atVersion) > 2e9)) {
        return 'atVersion out of range';
      }
      if (has('asOf') && !isInstant(param.asOf!)) return 'asOf is not an instant';
      return null;
    }
    case 'list': {
      if (!limit(100)) return 'limit is not 1..100';
      if (has('cursor')) return 'a cursor the service never issued';
      if (has('status') && !orderStatusSchema.safeParse(param.status).success) return 'bad status';
      if (has('customerId') && !identifierSchema.safeParse(param.customerId).success) {
        return 'bad customerId';
      }
      for (const name of ['placedFrom', 'placedTo']) {
        if (has(name) && !isInstant(param[name]!) && !isDay(param[name]!)) return `bad ${name}`;
      }
      return null;
    }
    case 'products':
      if (!limit(100)) return 'limit is not 1..100';
      if (has('currency') && !currencySchema.safeParse(param.currency).success)
        return 'bad currency';
      if (has('sortBy') && !['revenue', 'unitsSold'].includes(param.sortBy!)) return 'bad sortBy';
      return null;
    case 'daily': {
      if (!currencySchema.safeParse(param.currency).success) return 'bad or missing currency';
      if (!isDay(param.from ?? '') || !isDay(param.to ?? '')) return 'bad or missing from/to';
      const days = (Date.parse(param.to!) - Date.parse(param.from!)) / 86_400_000 + 1;
      if (days < 1 || days > 366) return 'the range is not 1..366 days';
      return null;
    }
    default:
      return 'no such route';
  }
}

function isDay(text: string): boolean {
  const match = DAY.exec(text);
  if (!match) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
}

function isInstant(text: string): boolean {
  return INSTANT.test(text) && isDay(text.slice(0, 10)) && !Number.isNaN(Date.parse(text));
}

/** The token format of libs/contracts: base64url of `[1, orderId, version, position]`. */
function isWellFormedConsistencyToken(text: string): boolean {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(text)) return false;
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 4 || value[0] !== 1) return false;
    const [, orderId, version, position] = value as unknown[];
    return (
      orderIdSchema.safeParse(orderId).success &&
      Number.isSafeInteger(version) &&
      (version as number) >= 1 &&
      typeof position === 'string' &&
      /^[0-9]+$/.test(position)
    );
  } catch {
    return false;
  }
}
