import { Client } from 'pg';
import { CommandLoad } from './support/command-load';
import { OrdersSystem } from './support/orders-system';
import { metricSum } from './support/metrics';
import { databaseUrl } from './support/postgres';
import type { ServiceProcess } from './support/service-process';
import { waitFor } from './support/wait-for';

/**
 * Contract §6: "Stopping a service (SIGTERM) finishes in-flight work and loses nothing". Under
 * a steady command load the command service taking the commands, the relay and the query
 * service are each stopped with SIGTERM and started again; each must exit 0, and afterwards
 * every acknowledged command is stored and every event is in the read models exactly once.
 *
 * What a request in flight at SIGTERM may see: its answer. A request the stopping service never
 * read (the listener is closed, or its keep-alive connection is closed before the request was
 * read) fails on the client with nothing stored, which a retry with its idempotency key shows
 * (a replay would mean it was stored without an answer). The test holds every command in the
 * service on a PostgreSQL lock while the SIGTERM arrives, so the requests in flight are certain.
 */
const WORKERS = 6;
const EXIT_WITHIN_MS = 15_000;

let system: OrdersSystem;

beforeAll(async () => {
  system = new OrdersSystem();
  await system.start();
  // More workers and shorter pauses than the fault suite's load: more requests in flight.
  await system.load.stop();
  system.load = new CommandLoad(() => system.writer.url, WORKERS, 10);
  system.load.start();
}, 120_000);

afterAll(async () => {
  await system?.destroy();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Milliseconds from SIGTERM to exit, per service, for the log. */
const stopTimes: Record<string, number> = {};

async function exitCodeWithin(
  name: string,
  stopped: Promise<number | null>,
  ms: number,
  sentAt = Date.now(),
) {
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    stopped,
    new Promise<'still running'>((resolve) => (timer = setTimeout(resolve, ms, 'still running'))),
  ]);
  clearTimeout(timer);
  stopTimes[name] = Date.now() - sentAt;
  return code;
}

function isRunning(service: ServiceProcess): boolean {
  return service.child.exitCode === null && service.child.signalCode === null;
}

async function lockWaiters(sql: Client): Promise<number> {
  const { rows } = await sql.query<{ waiting: number }>(
    `SELECT count(*)::int AS waiting FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock'`,
  );
  return rows[0]!.waiting;
}

/** Sum of a counter's samples whose labels contain `labels`. */
describe('SIGTERM under load', () => {
  it('answers what is in flight, exits 0, and loses or repeats nothing', async () => {
    await waitFor('the load to be acknowledged', () => system.load.acknowledged.length >= 30, {
      timeoutMs: 30_000,
    });

    // The command service: every command it holds is waiting on a lock when SIGTERM comes.
    const lock = new Client({ connectionString: databaseUrl(system.database) });
    await lock.connect();
    const writer = system.writer;
    let held: { key: string; answersBefore: number }[];
    let stopped: Promise<number | null>;
    let sentAt: number;
    try {
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE idempotency_keys IN ACCESS EXCLUSIVE MODE');
      await waitFor('every worker to wait on the lock', async () =>
        system.load.inFlight.size === WORKERS && (await lockWaiters(lock)) > 0 ? true : undefined,
      );
      // Long enough for every request in flight to have reached the service.
      await sleep(300);
      held = [...system.load.inFlight].map((key) => ({
        key,
        answersBefore: system.load.outcomes.get(key)?.length ?? 0,
      }));
      sentAt = Date.now();
      stopped = writer.stop('SIGTERM');
      await sleep(500);
      expect(isRunning(writer)).toBe(true); // still finishing its requests
    } finally {
      await lock.query('COMMIT').catch(() => undefined);
      await lock.end();
    }
    expect(await exitCodeWithin('command', stopped, EXIT_WITHIN_MS, sentAt)).toBe(0);
    expect(held).toHaveLength(WORKERS);
    const answers = await waitFor('the held requests to end', () => {
      const ended = held.map(({ key, answersBefore }) => ({
        key,
        status: system.load.outcomes.get(key)?.[answersBefore]?.status,
      }));
      return ended.every(({ status }) => status !== undefined) ? ended : undefined;
    });
    expect(answers.filter(({ status }) => !(status! >= 200 && status! < 300))).toEqual([]);
    system.writer = await system.restartWriter();
    await sleep(1_500);

    // The relay, while it publishes the load's events.
    expect(await exitCodeWithin('relay', system.relay.stop('SIGTERM'), EXIT_WITHIN_MS)).toBe(0);
    system.relay = await system.startRelay();
    await sleep(1_500);

    // The query service, while it projects.
    expect(await exitCodeWithin('query', system.query.stop('SIGTERM'), EXIT_WITHIN_MS)).toBe(0);
    system.query = await system.startQuery();
    await sleep(1_500);

    await system.quiesceAndReconcile('quick');
    await system.load.stop();

    // Nothing was stored without being answered: a request that got no answer stored nothing.
    const unanswered = new Set<string>();
    for (const [key, outcomes] of system.load.outcomes) {
      outcomes.forEach(({ status }, index) => {
        if (status !== 0) return;
        const retry = outcomes[index + 1];
        if (retry === undefined) unanswered.add(key);
        else expect({ key, retryReplayed: retry.replayed }).toEqual({ key, retryReplayed: false });
      });
    }
    const { rows } = await system.sql.query<{ key: string }>(
      'SELECT key FROM idempotency_keys WHERE key = ANY($1::text[])',
      [[...unanswered]],
    );
    expect(rows.map((row) => row.key)).toEqual([]);

    // Exactly once: everything applied before the query service stopped was acknowledged, so
    // its successor was handed no event it had already applied (and the relay republished none).
    const metrics = await (await fetch(`${system.query.url}/metrics`)).text();
    expect(
      metricSum(metrics, 'orders_projection_events_total', 'outcome="applied"'),
    ).toBeGreaterThan(0);
    expect(metricSum(metrics, 'orders_projection_events_total', 'outcome="duplicate"')).toBe(0);
    console.log(
      `graceful shutdown: ${system.load.acknowledged.length} commands acknowledged, statuses ` +
        JSON.stringify(Object.fromEntries(system.load.statuses)) +
        `, ${unanswered.size} requests left unanswered (nothing stored); ms from SIGTERM to exit ` +
        `(the command service's includes 500 ms on the lock): ${JSON.stringify(stopTimes)}`,
    );
  });
});
