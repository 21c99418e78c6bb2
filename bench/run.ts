import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { createDatabase, databaseUrl, dropDatabase } from '../test/support/postgres';
import { writeOrderPlacedBacklog } from '../test/support/event-backlog';
import { metricSum } from '../test/support/metrics';
import { purgeQueue, queueDepth } from '../test/support/rabbitmq';
import { uniqueName } from '../test/support/test-names';
import { emmettAppendRate, ourAppendRate } from './appends';
import { countCpu, CPU_GROUPS, type CpuUse } from './cpu';
import {
  bareHttpRate,
  mongoBulkUpsertRate,
  mongoPointReadRate,
  postgresInsertTps,
  rabbitEventShapedPublish,
  rabbitPublishAndConsume,
} from './ceilings';
import { HttpClient } from './http-client';
import { closedLoop, Latencies, sleep, spread, type Spread } from './stats';
import { SystemUnderTest } from '../test/support/system-under-test';
import { oneCommandAtATime } from './one-at-a-time';
import { OrderLifecycleWorkload } from './workload';

const ROOT = join(__dirname, '..', '..');
const { values: options } = parseArgs({
  options: {
    repetitions: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '3' },
    'light-rate': { type: 'string', default: '100' },
    backlog: { type: 'string', default: '100000' },
    'projection-backlog': { type: 'string', default: '3000' },
    'command-instances': { type: 'string', default: '1' },
    'query-instances': { type: 'string', default: '1' },
    out: { type: 'string', default: join(ROOT, 'bench/results') },
  },
});
const repetitions = Number(options.repetitions);
const concurrency = Number(options.concurrency);
const durationMs = Number(options.seconds) * 1000;
const warmupMs = Number(options.warmup) * 1000;
const lightRate = Number(options['light-rate']);
const backlog = Number(options.backlog);
const projectionBacklog = Number(options['projection-backlog']);
const commandInstances = Number(options['command-instances']);
const queryInstances = Number(options['query-instances']);

type Run = Record<string, number>;

const QUERY_QUEUE = 'orders.query-service';

function log(message: string) {
  process.stderr.write(`[bench] ${message}\n`);
}

async function measureCeilings(system: SystemUnderTest): Promise<Run> {
  const scratch = uniqueName('orders_ceiling');
  await createDatabase(scratch);
  try {
    log('ceiling: PostgreSQL single-row inserts');
    const pgInsertTps = await postgresInsertTps(databaseUrl(scratch), concurrency, durationMs);
    log('ceiling: RabbitMQ publish (windows of 500) and consume (prefetch 1000)');
    const published = 50_000;
    const rabbit = await rabbitPublishAndConsume(system.amqpUrl, published);
    log('ceiling: RabbitMQ publish of event-shaped messages');
    const eventShaped = await rabbitEventShapedPublish(system.amqpUrl, published);
    log('ceiling: MongoDB-compatible bulk upserts');
    const mongoUpsert = await mongoBulkUpsertRate(system.readStore.url, 3_000);
    log('ceiling: MongoDB-compatible point reads by _id');
    const mongoPointRead = await mongoPointReadRate(
      system.readStore.url,
      5_000,
      concurrency,
      durationMs,
    );
    log('ceiling: bare Node HTTP');
    const bareHttp = await bareHttpRate(concurrency, durationMs);
    return {
      pgInsertTps,
      rabbitPublish: rabbit.publishRate,
      rabbitConsume: rabbit.consumeRate,
      rabbitEventShapedPublish: eventShaped.publishRate,
      mongoUpsert,
      mongoPointRead,
      bareHttp,
      ...cpuPerOperation('rabbitPublish', rabbit.publishCpu, published),
      ...cpuPerOperation('rabbitEventShapedPublish', eventShaped.publishCpu, published),
    };
  } finally {
    await dropDatabase(scratch);
  }
}

async function measureCommandsAndQueries(system: SystemUnderTest): Promise<Run> {
  // The query service declares and binds its queue, then stops: at full load the command side
  // is measured alone (on two shared cores the projection into FerretDB would take most of
  // the CPU); its events wait in the queue. The half load runs with the query side on.
  await system.declareQueryQueue();
  const commandUrls: string[] = [];
  for (let i = 0; i < commandInstances; i++) commandUrls.push((await system.startCommand()).url);
  const commands = new HttpClient(commandUrls, concurrency);
  let queries: HttpClient[] = [];
  try {
    // A service just started runs its code cold (the JIT has not compiled it yet): here the
    // first 8 s ran at ~2/3 of the rate of the next ones. Warm it first, unmeasured.
    log(`commands: ${warmupMs / 1000} s of warm-up`);
    const warmup = new OrderLifecycleWorkload(commands);
    await closedLoop(concurrency, warmupMs, async (w) => {
      await warmup.next(w);
    });
    log('commands at full load (query side stopped)');
    const full = new OrderLifecycleWorkload(commands);
    let started = performance.now();
    let cpu = countCpu();
    const fullDone = await closedLoop(concurrency, durationMs, async (w) => {
      await full.next(w);
    });
    const fullRate = fullDone / ((performance.now() - started) / 1000);
    const fullCpu = cpuPerOperation('full', cpu(), fullDone);

    log('one command at a time, over HTTP and over RabbitMQ request/reply');
    const single = await oneCommandAtATime(commands, system.amqpUrl);

    log('query side catching up on the full load');
    const queryUrls: string[] = [];
    for (let i = 0; i < queryInstances; i++) {
      queryUrls.push((await system.startQuery(commandUrls[0])).url);
    }
    const reads = new HttpClient(queryUrls, concurrency);
    // Lag reads wait on the server, each on a connection of its own: queued behind each other
    // in a small pool, they would time the client's queue too.
    const lagReads = new HttpClient(queryUrls, 512);
    queries = [reads, lagReads];
    const ages = () => eventAges([...commandUrls, ...queryUrls]);
    const caughtUpBy = performance.now() + 600_000;
    while ((await queueDepth(system.vhost, QUERY_QUEUE)) > 0 && performance.now() < caughtUpBy) {
      await sleep(200);
    }

    // The highest paced rate whose lag stays in bound: rates doubling from a quarter of
    // --light-rate (the light phase is one of them) up to half load, until one misses it.
    const steps: PacedPhase[] = [];
    let light: PacedPhase | undefined;
    let lightCpu: Run = {};
    let withinLagBound = 0;
    let boundHeld = true;
    for (let rate = lightRate / 4; rate < fullRate / 2; rate *= 2) {
      if (!boundHeld && rate > lightRate) break;
      log(`commands at ${rate}/s, with end-to-end lag through the consistency token`);
      cpu = countCpu();
      const step = await pacedWithLag(commands, lagReads, rate, ages);
      const stepCpu = cpu();
      steps.push(step);
      log(
        `  ${step.rate.toFixed(0)}/s achieved, lag p50 ${step.lag.percentile(50).toFixed(1)} ms, ` +
          `p99 ${step.lag.percentile(99).toFixed(1)} ms, ${step.lagReadsNot200} reads ran out`,
      );
      if (rate === lightRate) {
        light = step;
        lightCpu = cpuPerOperation('light', stepCpu, step.workload.latencies.count);
      }
      if (boundHeld && withinBound(step, rate)) withinLagBound = step.rate;
      else boundHeld = false;
    }
    if (light === undefined) {
      cpu = countCpu();
      light = await pacedWithLag(commands, lagReads, lightRate, ages);
      lightCpu = cpuPerOperation('light', cpu(), light.workload.latencies.count);
      steps.push(light);
    }
    const backlogClearedBy = performance.now() + 600_000;
    while (
      (await queueDepth(system.vhost, QUERY_QUEUE)) > 0 &&
      performance.now() < backlogClearedBy
    ) {
      await sleep(200);
    }
    log('commands at half load, with end-to-end lag through the consistency token');
    cpu = countCpu();
    const half = await pacedWithLag(commands, lagReads, fullRate / 2, ages);
    const halfCpu = cpuPerOperation('half', cpu(), half.workload.latencies.count);

    log('queries: GET /orders/{id} and a list');
    const known = [
      ...warmup.placed,
      ...full.placed,
      ...steps.flatMap((step) => step.workload.placed),
      ...half.workload.placed,
    ];
    const byId = new Latencies();
    const readsBefore = await getOrderReads(queryUrls);
    started = performance.now();
    cpu = countCpu();
    const byIdDone = await closedLoop(concurrency, durationMs, async () => {
      const t = performance.now();
      await reads.request(
        'GET',
        `/orders/${known[Math.floor(Math.random() * known.length)]!.orderId}`,
      );
      byId.record(performance.now() - t);
    });
    const byIdRate = byIdDone / ((performance.now() - started) / 1000);
    const byIdCpu = cpuPerOperation('getOrder', cpu(), byIdDone);
    const readsAfter = await getOrderReads(queryUrls);
    const fromLiveViews =
      (100 * (readsAfter.liveViews - readsBefore.liveViews)) /
      (readsAfter.liveViews + readsAfter.readStore - readsBefore.liveViews - readsBefore.readStore);
    const list = new Latencies();
    started = performance.now();
    cpu = countCpu();
    const listDone = await closedLoop(concurrency, durationMs, async () => {
      const t = performance.now();
      await reads.request(
        'GET',
        `/orders?customerId=customer-${Math.floor(Math.random() * 50)}&limit=20`,
      );
      list.record(performance.now() - t);
    });
    const listRate = listDone / ((performance.now() - started) / 1000);
    const listCpu = cpuPerOperation('list', cpu(), listDone);

    log('rebuild: every read model from the feed, while serving');
    const sql = new Client({ connectionString: system.databaseUrl });
    await sql.connect();
    const { rows } = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM order_events');
    await sql.end();
    started = performance.now();
    await reads.request('POST', '/admin/rebuild');
    let phase = 'building';
    const giveUp = performance.now() + 600_000;
    while ((phase === 'building' || phase === 'switching') && performance.now() < giveUp) {
      await sleep(200);
      const status = await reads.request('GET', '/admin/rebuild');
      phase = (status.json.rebuild as { phase?: string } | null)?.phase ?? 'building';
    }
    const rebuildRate =
      phase === 'completed' ? rows[0]!.n / ((performance.now() - started) / 1000) : Number.NaN;

    return {
      ...fullCpu,
      ...lightCpu,
      ...halfCpu,
      ...byIdCpu,
      ...listCpu,
      rebuildPerSecond: rebuildRate,
      commandsPerSecond: fullRate,
      commandP50: full.latencies.percentile(50),
      commandP99: full.latencies.percentile(99),
      ...single,
      commandFailures:
        warmup.failures +
        full.failures +
        steps.reduce((sum, step) => sum + step.workload.failures, 0) +
        half.workload.failures,
      lagReadsNot200: [...steps, half].reduce((sum, step) => sum + step.lagReadsNot200, 0),
      halfLoadCommandsPerSecond: half.rate,
      halfLoadP50: half.workload.latencies.percentile(50),
      halfLoadP99: half.workload.latencies.percentile(99),
      lagP50: half.lag.percentile(50),
      lagP99: half.lag.percentile(99),
      halfPublishedAgeMs: half.publishedAgeMs,
      halfAppliedAgeMs: half.appliedAgeMs,
      halfEventsPerViewWrite: half.eventsPerViewWrite,
      lightLoadCommandsPerSecond: light.rate,
      lightLagP50: light.lag.percentile(50),
      lightLagP99: light.lag.percentile(99),
      lightPublishedAgeMs: light.publishedAgeMs,
      lightAppliedAgeMs: light.appliedAgeMs,
      lightEventsPerViewWrite: light.eventsPerViewWrite,
      withinLagBoundPerSecond: withinLagBound,
      getOrderPerSecond: byIdRate,
      getOrderP99: byId.percentile(99),
      getOrderFromLiveViews: fromLiveViews,
      listPerSecond: listRate,
      listP99: list.percentile(99),
    };
  } finally {
    await commands.close();
    await Promise.all(queries.map((client) => client.close()));
    await system.stopAll();
  }
}

/** The bound the contract sets on end-to-end lag p99 (at half load). */
const LAG_BOUND_MS = 50;

type PacedPhase = Awaited<ReturnType<typeof pacedWithLag>>;

function withinBound(step: PacedPhase, rate: number): boolean {
  return (
    // 0.9: at a few commands per second the phase's last pacing interval is a tenth of it.
    step.lag.percentile(99) <= LAG_BOUND_MS && step.lagReadsNot200 === 0 && step.rate >= 0.9 * rate
  );
}

/**
 * Commands paced at `rate` per second for one phase; every fourth answer's consistency token
 * (fewer at high rates: at most ~50 a second) is read back from the query side at once, and
 * the time to a 200 is the end-to-end lag; reads that run out of their wait are counted.
 */
async function pacedWithLag(
  commands: HttpClient,
  reads: HttpClient,
  rate: number,
  ages: () => Promise<EventAges>,
) {
  const workload = new OrderLifecycleWorkload(commands);
  const agesBefore = await ages();
  const lag = new Latencies();
  const lagReads: Promise<void>[] = [];
  let lagReadsNot200 = 0;
  const interval = (concurrency / rate) * 1000;
  // Even 10 s of lag then keeps at most ~500 reads waiting, within the lag reads' connections.
  const readEvery = Math.max(4, Math.ceil(rate / 50));
  const started = performance.now();
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      await sleep(Math.random() * interval);
      let next = performance.now();
      while (performance.now() - started < durationMs) {
        const token = await workload.next(worker);
        done += 1;
        if (token && done % readEvery === 0) {
          // Measured beside the load, so a slow read does not slow the commands down.
          const sent = performance.now();
          lagReads.push(
            reads
              .request('GET', `/orders/${tokenOrder(token)}`, undefined, {
                'x-consistency-token': token,
                // The longest wait the API allows: a read that runs out is counted apart.
                'x-consistency-timeout-ms': '10000',
              })
              .then((answer) => {
                if (answer.status === 200) lag.record(performance.now() - sent);
                else lagReadsNot200 += 1;
              }),
          );
        }
        next += interval;
        await sleep(Math.max(0, next - performance.now()));
      }
    }),
  );
  const rateAchieved = done / ((performance.now() - started) / 1000);
  await Promise.all(lagReads);
  const agesAfter = await ages();
  const mean = (stage: keyof EventAges) =>
    (agesAfter[stage].sum - agesBefore[stage].sum) /
    (agesAfter[stage].count - agesBefore[stage].count);
  return {
    workload,
    lag,
    rate: rateAchieved,
    lagReadsNot200,
    publishedAgeMs: mean('published') * 1000,
    appliedAgeMs: mean('applied') * 1000,
    eventsPerViewWrite: mean('perViewWrite'),
  };
}

interface EventAges {
  published: { sum: number; count: number };
  applied: { sum: number; count: number };
  perViewWrite: { sum: number; count: number };
}

/** The services' metrics now: a metric's samples summed over every service (and `labels`). */
async function metricTotals(urls: string[]): Promise<(name: string, labels?: string) => number> {
  const texts = await Promise.all(urls.map(async (url) => (await fetch(`${url}/metrics`)).text()));
  return (name, labels) => texts.reduce((sum, text) => sum + metricSum(text, name, labels), 0);
}

/**
 * The services' event-age histograms (age at the broker's confirm, age when applied) and the
 * events each view write applied, summed over every instance: a phase's mean is the
 * difference of two samples.
 */
async function eventAges(urls: string[]): Promise<EventAges> {
  const total = await metricTotals(urls);
  return {
    published: {
      sum: total('orders_relay_event_age_seconds_sum'),
      count: total('orders_relay_event_age_seconds_count'),
    },
    applied: {
      sum: total('orders_projection_event_age_seconds_sum'),
      count: total('orders_projection_event_age_seconds_count'),
    },
    perViewWrite: {
      sum: total('orders_projection_events_per_write_sum'),
      count: total('orders_projection_events_per_write_count'),
    },
  };
}

/** `GET /orders/{id}` answers so far, by where the view came from (the services count them). */
async function getOrderReads(urls: string[]): Promise<{ liveViews: number; readStore: number }> {
  const total = await metricTotals(urls);
  const reads = (source: string) => total('orders_get_order_reads_total', `source="${source}"`);
  return { liveViews: reads('live_views'), readStore: reads('read_store') };
}

/** The phases whose CPU is reported, and what one operation of each is. */
const cpuPhases: [string, string][] = [
  ['full', 'command, full load'],
  ['light', 'command, light load (--light-rate)'],
  ['half', 'command, half load'],
  ['relay', 'event, relay drain'],
  ['rabbitPublish', 'message, RabbitMQ publish ceiling'],
  ['rabbitEventShapedPublish', 'message, RabbitMQ event-shaped publish ceiling'],
  ['projection', 'event, projection catching up'],
  ['getOrder', 'GET /orders/{id}'],
  ['list', 'GET /orders?customerId='],
];

/** CPU milliseconds per operation by group in one phase, and the cores busy meanwhile. */
function cpuPerOperation(phase: string, use: CpuUse, operations: number): Run {
  const run: Run = {};
  let total = 0;
  for (const group of CPU_GROUPS) {
    run[`cpu.${phase}.${group}`] = use.ms[group] / operations;
    total += use.ms[group];
  }
  run[`cpu.${phase}.cores`] = total / use.wallMs;
  return run;
}

function tokenOrder(token: string): string {
  return (JSON.parse(Buffer.from(token, 'base64url').toString()) as [number, string])[1];
}

/** Writes `count` OrderPlaced events straight into the store; returns the last position. */
async function writeBacklog(sql: Client, count: number): Promise<bigint> {
  await writeOrderPlacedBacklog(sql, count);
  const { rows } = await sql.query<{ max: string }>(
    'SELECT max(position)::text AS max FROM order_events',
  );
  return BigInt(rows[0]!.max);
}

/** Events the query service has projected (every outcome), from its metrics. */
async function projectedEvents(queryUrl: string): Promise<number> {
  return (await metricTotals([queryUrl]))('orders_projection_events_total');
}

async function relayCheckpoint(sql: Client): Promise<bigint> {
  const { rows } = await sql.query<{ position: string }>(
    "SELECT position::text FROM relay_checkpoints WHERE name = 'orders.events'",
  );
  return BigInt(rows[0]?.position ?? 0);
}

async function waitForRelay(sql: Client, head: bigint): Promise<void> {
  while ((await relayCheckpoint(sql)) < head) await sleep(20);
}

/**
 * Starts a relay on a backlog up to `head` and times its drain from its first checkpoint on:
 * the events after that checkpoint over the time they took. The service's start-up before it
 * (~1–1.5 s here) is reported apart; it is not drain.
 */
async function timeRelayDrain(system: SystemUnderTest, sql: Client, head: bigint) {
  const initial = await relayCheckpoint(sql);
  const started = performance.now();
  const relay = await system.startCommand();
  let first: { position: bigint; at: number } | undefined;
  let cpu: (() => CpuUse) | undefined;
  for (;;) {
    const position = await relayCheckpoint(sql);
    if (first === undefined && position > initial) {
      first = { position, at: performance.now() };
      cpu = countCpu();
    }
    if (position >= head) break;
    await sleep(10);
  }
  const finished = performance.now();
  const used = cpu!();
  const { rows } = await sql.query<{ count: string }>(
    'SELECT count(*)::text AS count FROM order_events WHERE position > $1 AND position <= $2',
    [first!.position.toString(), head.toString()],
  );
  const events = Number(rows[0]!.count);
  return {
    relay,
    relayDrainPerSecond: events / ((finished - first!.at) / 1000),
    relayStartupMs: first!.at - started,
    relayCpu: cpuPerOperation('relay', used, events),
  };
}

/**
 * The relay draining a backlog written while it was stopped; then the query service catching
 * up on a queued backlog (it acknowledges each event only after its read-model write).
 */
async function measureRelayAndProjection(system: SystemUnderTest): Promise<Run> {
  const sql = new Client({ connectionString: system.databaseUrl });
  await sql.connect();
  const queue = QUERY_QUEUE;
  try {
    await system.declareQueryQueue();
    log(`relay: writing a backlog of ${backlog} events, then draining it`);
    let head = await writeBacklog(sql, backlog);
    const { relay, relayDrainPerSecond, relayStartupMs, relayCpu } = await timeRelayDrain(
      system,
      sql,
      head,
    );
    await purgeQueue(system.vhost, queue);

    log(`projection: ${projectionBacklog} queued events`);
    head = await writeBacklog(sql, projectionBacklog);
    await waitForRelay(sql, head);
    await relay.stop();
    const projector = await system.startQuery();
    // Counted by the service itself (the management API's queue depth lags by seconds), from
    // the moment it answers, so its start-up is not counted.
    const started = performance.now();
    const cpu = countCpu();
    const before = await projectedEvents(projector.url);
    const doneBy = performance.now() + 600_000;
    while (
      (await projectedEvents(projector.url)) < projectionBacklog &&
      performance.now() < doneBy
    ) {
      await sleep(50);
    }
    const projectionRate = (projectionBacklog - before) / ((performance.now() - started) / 1000);
    return {
      relayDrainPerSecond,
      relayStartupMs,
      ...relayCpu,
      projectionPerSecond: projectionRate,
      ...cpuPerOperation('projection', cpu(), projectionBacklog - before),
    };
  } finally {
    await sql.end();
    await system.stopAll();
  }
}

async function measureAppends(): Promise<Run> {
  const ours = uniqueName('orders_append');
  const emmett = uniqueName('orders_emmett');
  try {
    log('appends: ours, in process');
    const ourRate = await ourAppendRate(ROOT, databaseUrl(ours), concurrency, durationMs);
    await createDatabase(emmett);
    log('appends: Emmett');
    const emmettRate = await emmettAppendRate(databaseUrl(emmett), concurrency, durationMs);
    return { ourAppendPerSecond: ourRate, emmettAppendPerSecond: emmettRate };
  } finally {
    await dropDatabase(ours);
    await dropDatabase(emmett);
  }
}

async function main() {
  const runs: Run[] = [];
  for (let r = 1; r <= repetitions; r++) {
    log(`repetition ${r} of ${repetitions}`);
    const system = await SystemUnderTest.create('orders_bench', { LOG_LEVEL: 'error' });
    try {
      runs.push({
        ...(await measureCeilings(system)),
        ...(await measureCommandsAndQueries(system)),
        ...(await measureRelayAndProjection(system)),
        ...(await measureAppends()),
      });
    } finally {
      await system.destroy();
    }
  }
  report(runs);
}

const figures: [string, string, string, string | null][] = [
  // key, label, unit, ceiling key for the ratio
  ['commandsPerSecond', 'commands/s, full load (command side alone)', '/s', 'pgInsertTps'],
  ['commandP50', 'command p50, full load', 'ms', null],
  ['commandP99', 'command p99, full load', 'ms', null],
  ['singleHttpP50', 'one command at a time over HTTP, p50', 'ms', null],
  ['singleHttpP99', 'one command at a time over HTTP, p99', 'ms', null],
  ['singleAmqpP50', 'one command at a time over RabbitMQ request/reply, p50', 'ms', null],
  ['singleAmqpP99', 'one command at a time over RabbitMQ request/reply, p99', 'ms', null],
  ['halfLoadCommandsPerSecond', 'commands/s, half load (query side on)', '/s', 'pgInsertTps'],
  ['halfLoadP50', 'command p50, half load', 'ms', null],
  ['halfLoadP99', 'command p99, half load', 'ms', null],
  ['lagP50', 'end-to-end lag p50, half load', 'ms', null],
  ['lagP99', 'end-to-end lag p99, half load', 'ms', null],
  ['halfPublishedAgeMs', 'event age at the broker confirm, half load (mean)', 'ms', null],
  ['halfAppliedAgeMs', 'event age when applied to the read models, half load (mean)', 'ms', null],
  [
    'halfEventsPerViewWrite',
    'events of an order applied per view write, half load (mean)',
    '',
    null,
  ],
  ['lightLoadCommandsPerSecond', 'commands/s, light load (--light-rate)', '/s', null],
  ['lightLagP50', 'end-to-end lag p50, light load', 'ms', null],
  ['lightLagP99', 'end-to-end lag p99, light load', 'ms', null],
  ['lightPublishedAgeMs', 'event age at the broker confirm, light load (mean)', 'ms', null],
  ['lightAppliedAgeMs', 'event age when applied to the read models, light load (mean)', 'ms', null],
  [
    'lightEventsPerViewWrite',
    'events of an order applied per view write, light load (mean)',
    '',
    null,
  ],
  [
    'withinLagBoundPerSecond',
    `highest paced rate with lag p99 <= ${LAG_BOUND_MS} ms (rates doubling from --light-rate / 4)`,
    '/s',
    'commandsPerSecond',
  ],
  ['lagReadsNot200', 'lag reads not answered 200 (consistency wait ran out)', '', null],
  ['relayDrainPerSecond', `relay drain of ${backlog} events`, '/s', 'rabbitPublish'],
  [
    'relayDrainPerSecond',
    'relay drain, as a ratio to publishing messages of the same shape',
    '/s',
    'rabbitEventShapedPublish',
  ],
  ['relayStartupMs', 'relay start-up before its first checkpoint (not in the drain)', 'ms', null],
  ['rebuildPerSecond', 'projection during a full rebuild from the feed', '/s', 'mongoUpsert'],
  ['projectionPerSecond', 'projection catching up a queued backlog', '/s', 'mongoUpsert'],
  ['getOrderPerSecond', 'GET /orders/{id}', '/s', 'bareHttp'],
  [
    'getOrderPerSecond',
    'GET /orders/{id}, as a ratio to the read store alone',
    '/s',
    'mongoPointRead',
  ],
  ['getOrderP99', 'GET /orders/{id} p99', 'ms', null],
  [
    'getOrderFromLiveViews',
    'GET /orders/{id} answered from live views (no read-store round trip)',
    '%',
    null,
  ],
  ['listPerSecond', 'GET /orders?customerId=', '/s', 'bareHttp'],
  ['listP99', 'GET /orders?customerId= p99', 'ms', null],
  ['ourAppendPerSecond', 'event store appends (in process)', '/s', 'emmettAppendPerSecond'],
  ['pgInsertTps', 'ceiling: PostgreSQL single-row insert TPS', '/s', null],
  ['rabbitPublish', 'ceiling: RabbitMQ publish, confirms per 500', '/s', null],
  ['rabbitConsume', 'ceiling: RabbitMQ consume, prefetch 1000', '/s', null],
  [
    'rabbitEventShapedPublish',
    'ceiling: RabbitMQ publish of event-shaped messages, confirms per 500',
    '/s',
    null,
  ],
  ['mongoUpsert', 'ceiling: bulk upsert (MongoDB-compatible)', '/s', null],
  ['mongoPointRead', 'ceiling: point reads by _id (MongoDB-compatible)', '/s', null],
  ['bareHttp', 'ceiling: bare Node HTTP', '/s', null],
  ['emmettAppendPerSecond', 'peer: Emmett PostgreSQL appends', '/s', null],
  ['commandFailures', 'failed commands (must be 0)', '', null],
];

function report(runs: Run[]) {
  const fmt = (s: Spread, unit: string) =>
    unit === '/s'
      ? `${s.median.toFixed(0)} (${s.min.toFixed(0)}–${s.max.toFixed(0)})`
      : `${s.median.toFixed(1)} (${s.min.toFixed(1)}–${s.max.toFixed(1)})`;
  const rows = figures.map(([key, label, unit, ceiling]) => {
    const values = spread(runs.map((run) => run[key]!));
    const ratio = ceiling ? spread(runs.map((run) => run[key]! / run[ceiling]!)) : null;
    return { key, label, unit, values, ratio, ceiling };
  });
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  const markdown = [
    `Benchmark of ${new Date().toISOString()} on ${machine}; services, load and infrastructure share the machine.`,
    `${runs.length} repetitions, concurrency ${concurrency}, ${durationMs / 1000} s per phase (commands after ${warmupMs / 1000} s of warm-up); median (min–max).`,
    `Instances for commands and queries: ${commandInstances} command service(s), ${queryInstances} query service(s), requests sent to them in turn; the relay drain and the queued projection run one instance.`,
    '',
    '| figure | value | ratio to ceiling |',
    '| --- | --- | --- |',
    ...rows.map(
      (row) =>
        `| ${row.label} | ${fmt(row.values, row.unit)} ${row.unit} | ${
          row.ratio
            ? `${row.ratio.median.toFixed(2)}× ${row.ceiling} (${row.ratio.min.toFixed(2)}–${row.ratio.max.toFixed(2)})`
            : ''
        } |`,
    ),
    '',
    `CPU per operation by process, in ms (median); cores busy of ${cpus().length}, median (min–max). ` +
      '`load` is the benchmark process; `read-store` includes its PostgreSQL backends.',
    '',
    `| per | ${CPU_GROUPS.join(' | ')} | cores busy |`,
    `| --- |${' --- |'.repeat(CPU_GROUPS.length + 1)}`,
    ...cpuPhases.map(([phase, per]) => {
      const median = (key: string) => spread(runs.map((run) => run[key]!)).median;
      const cores = spread(runs.map((run) => run[`cpu.${phase}.cores`]!));
      return `| ${per} | ${CPU_GROUPS.map((group) => median(`cpu.${phase}.${group}`).toFixed(3)).join(' | ')} | ${cores.median.toFixed(2)} (${cores.min.toFixed(2)}–${cores.max.toFixed(2)}) |`;
    }),
  ].join('\n');
  mkdirSync(options.out, { recursive: true });
  writeFileSync(
    join(options.out, 'latest.json'),
    JSON.stringify(
      { machine, concurrency, durationMs, commandInstances, queryInstances, runs, rows },
      null,
      2,
    ),
  );
  writeFileSync(join(options.out, 'latest.md'), `${markdown}\n`);
  process.stdout.write(`${markdown}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
