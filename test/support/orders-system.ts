import { type EventEnvelope } from '@orders/contracts';
import { Client } from 'pg';
import { CommandLoad } from './command-load';
import { createTestDatabase, type TestDatabase } from './mongo-test-database';
import { databaseUrl, dropDatabase } from './postgres';
import { createVhost, deleteVhost } from './rabbitmq';
import {
  eventsByOrder,
  expectedHistory,
  expectedOrderView,
  recountDailyStats,
  recountProductStats,
} from './read-model.recount';
import {
  SERVICE_LOG_DIR,
  serviceLinesAbout,
  startService,
  type ServiceProcess,
} from './service-process';
import { uniqueName } from './test-names';
import { waitFor } from './wait-for';

export const QUERY_QUEUE = 'orders.query-service';

/**
 * A whole system for fault and soak runs: the query service, a command service that takes
 * the commands (relay off) and one that only relays, so each can fail on its own; a steady
 * command load; and the reconciliation of contract §6.
 */
export class OrdersSystem {
  writer!: ServiceProcess;
  relay!: ServiceProcess;
  query!: ServiceProcess;
  sql!: Client;
  load!: CommandLoad;
  amqpUrl = '';
  readStore!: TestDatabase;
  /** Poison messages sent on purpose: the only dead letters allowed. */
  poisonSent = 0;
  readonly database = uniqueName('orders_system');
  readonly vhost = uniqueName('orders_system');

  async start(): Promise<void> {
    this.amqpUrl = await createVhost(this.vhost);
    this.readStore = await createTestDatabase('orders_system');
    this.query = await this.startQuery();
    this.writer = await this.restartWriter();
    this.relay = await this.startRelay();
    this.sql = new Client({ connectionString: databaseUrl(this.database) });
    // A fault that terminates every backend reaches this client too; queries then fail loudly.
    this.sql.on('error', () => undefined);
    await this.sql.connect();
    this.load = new CommandLoad(() => this.writer.url);
    this.load.start();
  }

  commandEnv() {
    return { DATABASE_URL: databaseUrl(this.database), RABBITMQ_URL: this.amqpUrl };
  }

  startQuery() {
    return startService('query', { MONGODB_URL: this.readStore.url, RABBITMQ_URL: this.amqpUrl });
  }

  restartWriter() {
    return startService('command', { ...this.commandEnv(), RELAY_ENABLED: 'false' });
  }

  startRelay() {
    return startService('command', this.commandEnv());
  }

  async destroy(): Promise<void> {
    await this.load?.stop();
    await Promise.all([this.writer?.stop(), this.relay?.stop(), this.query?.stop()]);
    await this.sql?.end();
    await this.readStore?.drop();
    await deleteVhost(this.vhost);
    await dropDatabase(this.database);
  }

  /** Events stored but not yet confirmed by the broker. */
  async relayBacklog(): Promise<number> {
    const { rows } = await this.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM order_events WHERE position >
         coalesce((SELECT position FROM relay_checkpoints WHERE name = 'orders.events'), 0)`,
    );
    return rows[0]?.n ?? 0;
  }

  /** Pauses the load, waits until everything stored is published and projected, checks it. */
  async quiesceAndReconcile(scope: 'quick' | 'full' = 'quick'): Promise<void> {
    await this.load.stop();
    await waitFor(
      'the relay to publish everything stored',
      async () => ((await this.relayBacklog()) === 0 ? true : undefined),
      { timeoutMs: 90_000 },
    );
    const events = await this.readFeed();
    // The feed is what the read side sees; PostgreSQL is the truth it must show in full.
    const { rows } = await this.sql.query<{ n: number; last: string | null }>(
      'SELECT count(*)::int AS n, max(position)::text AS last FROM order_events',
    );
    expect({ feed: events.length, last: events.at(-1)?.position ?? null }).toEqual({
      feed: rows[0]?.n,
      last: rows[0]?.last,
    });
    const byOrder = eventsByOrder(events);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
    for (const [orderId, stream] of byOrder) {
      expect({ orderId, versions: stream.map((e) => e.version) }).toEqual({
        orderId,
        versions: stream.map((_, i) => i + 1),
      });
    }
    for (const { orderId, version } of this.load.acknowledged) {
      expect({ orderId, stored: (byOrder.get(orderId)?.length ?? 0) >= version }).toEqual({
        orderId,
        stored: true,
      });
    }
    // The broker's queue statistics lag by seconds, so "queue empty" proves nothing: wait
    // until the read model shows every order at its last stored version, then check it all.
    let behindExample = '';
    await waitFor(
      'the read model to show every stored event',
      async () => {
        const views = await this.listAll();
        const behind = [...byOrder].filter(([id, s]) => views.get(id)?.version !== s.length);
        if (behind.length === 0) return true;
        const [id, stream] = behind[0]!;
        behindExample = id;
        throw new Error(
          `${behind.length} of ${byOrder.size} orders behind, e.g. ${id} at ` +
            `v${views.get(id)?.version ?? '-'} of ${stream.length}`,
        );
      },
      { timeoutMs: 120_000, intervalMs: 1_000 },
    ).catch(async (error: unknown) => {
      // What the query service said last, what every service said about the order that is
      // behind, and where its events are, tell why it did not catch up.
      throw new Error(
        `${String(error)}\nquery service output:\n${this.query.output().slice(-4_000)}` +
          `\nevery service on ${behindExample} (${SERVICE_LOG_DIR}):\n` +
          serviceLinesAbout(behindExample).slice(0, 8_000) +
          `\n${await this.whereEventsAre(behindExample).catch(String)}`,
      );
    });
    // Every order's summary through the list API: one page walk over the whole read model.
    const listed = new Map<
      string,
      { version: number; status: string; total: number; itemCount: number }
    >();
    let cursor: string | null = null;
    do {
      const page = (await this.getJson(
        `/orders?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      )) as {
        items: {
          orderId: string;
          version: number;
          status: string;
          total: number;
          itemCount: number;
        }[];
        nextCursor: string | null;
      };
      for (const item of page.items) {
        expect(listed.has(item.orderId)).toBe(false);
        listed.set(item.orderId, item);
      }
      cursor = page.nextCursor;
    } while (cursor);
    expect(listed.size).toBe(byOrder.size);
    for (const [orderId, stream] of byOrder) {
      const expected = expectedOrderView(stream)!;
      expect(listed.get(orderId)).toMatchObject({
        version: expected.version,
        status: expected.status,
        total: expected.total,
        itemCount: expected.itemCount,
      });
    }
    const products = await this.getJson('/stats/products?currency=EUR&sortBy=revenue&limit=100');
    expect(products).toEqual(
      recountProductStats(byOrder, { currency: 'EUR', sortBy: 'revenue', limit: 100 }),
    );
    const days = [...new Set(events.map((e) => e.occurredAt.slice(0, 10)))].sort();
    const daily = await this.getJson(`/stats/daily?currency=EUR&from=${days[0]}&to=${days.at(-1)}`);
    expect(daily).toEqual(recountDailyStats(byOrder, 'EUR', days[0]!, days.at(-1)!));
    if (scope === 'full') {
      for (const [orderId, stream] of byOrder) {
        expect(await this.getJson(`/orders/${orderId}`)).toEqual(expectedOrderView(stream));
        expect(await this.getJson(`/orders/${orderId}/history`)).toEqual(expectedHistory(stream));
      }
    }
    const deadLetters = (await this.getJson('/admin/dead-letters?limit=100')) as {
      items: unknown[];
    };
    expect(deadLetters.items).toHaveLength(this.poisonSent);
    this.load.start();
  }

  /** An order's stored events against the relay's checkpoint, and its dead letters. */
  private async whereEventsAre(orderId: string): Promise<string> {
    const { rows } = await this.sql.query<{
      version: number;
      position: string;
      published: boolean;
    }>(
      `SELECT version, position::text,
              position <= coalesce((SELECT position FROM relay_checkpoints WHERE name = 'orders.events'), 0)
                AS published
         FROM order_events WHERE order_id = $1 ORDER BY version`,
      [orderId],
    );
    const { items } = (await this.getJson('/admin/dead-letters?limit=100')) as {
      items: {
        orderId: string | null;
        version: number | null;
        reason: string;
        deathCount: number;
      }[];
    };
    return (
      `stored events of ${orderId} (version position published):\n` +
      rows.map((row) => `  v${row.version} ${row.position} ${row.published}`).join('\n') +
      `\nits dead letters: ${JSON.stringify(items.filter((item) => item.orderId === orderId))}`
    );
  }

  /** Every order's summary, walking the list API's pages. */
  async listAll(): Promise<Map<string, { version: number }>> {
    const views = new Map<string, { version: number }>();
    let cursor: string | null = null;
    do {
      const after: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const response = await fetch(`${this.query.url}/orders?limit=100${after}`);
      if (!response.ok) throw new Error(`GET /orders answered ${response.status}`);
      const page = (await response.json()) as {
        items: { orderId: string; version: number }[];
        nextCursor: string | null;
      };
      for (const item of page.items) views.set(item.orderId, item);
      cursor = page.nextCursor;
    } while (cursor);
    return views;
  }

  async readFeed(): Promise<EventEnvelope[]> {
    const events: EventEnvelope[] = [];
    let after = '0';
    for (;;) {
      const page = (await (
        await fetch(`${this.writer.url}/events?after=${after}&limit=1000`)
      ).json()) as {
        events: EventEnvelope[];
        lastPosition: string;
      };
      events.push(...page.events);
      if (page.events.length < 1000) return events;
      after = page.lastPosition;
    }
  }

  async getJson(path: string): Promise<unknown> {
    const response = await fetch(`${this.query.url}${path}`);
    expect({ path, status: response.status }).toEqual({ path, status: 200 });
    return response.json();
  }
}
