import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OrdersSystem, QUERY_QUEUE } from '../support/orders-system';
import { queueDepth } from '../support/rabbitmq';

const minutes = Number(process.env.SOAK_MINUTES ?? '1');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function rssMegabytes(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  try {
    return (
      Number(
        execFileSync('ps', ['-o', 'rss=', '-p', String(pid)])
          .toString()
          .trim(),
      ) / 1024
    );
  } catch {
    return Number.NaN;
  }
}

/** `npm run soak -- --minutes N`: steady load, a kill every 20 s, memory and lag over time. */
describe(`soak for ${minutes} minute(s)`, () => {
  const system = new OrdersSystem();

  beforeAll(() => system.start());
  afterAll(() => system.destroy());

  it('keeps memory flat and lag bounded, and reconciles at the end', async () => {
    const rows: string[] = [
      '| t (s) | writer MiB | relay MiB | query MiB | relay backlog | queue depth | event |',
      '| --- | --- | --- | --- | --- | --- | --- |',
    ];
    const started = Date.now();
    const kills = ['relay', 'query', 'writer'] as const;
    let tick = 0;
    while (Date.now() - started < minutes * 60_000) {
      await sleep(5_000);
      tick += 1;
      let event = '';
      if (tick % 4 === 0) {
        const victim = kills[(tick / 4) % kills.length]!;
        event = `killed ${victim}`;
        if (victim === 'relay') {
          await system.relay.stop('SIGKILL');
          system.relay = await system.startRelay();
        } else if (victim === 'query') {
          await system.query.stop('SIGKILL');
          system.query = await system.startQuery();
        } else {
          await system.writer.stop('SIGTERM');
          system.writer = await system.restartWriter();
        }
      }
      rows.push(
        `| ${Math.round((Date.now() - started) / 1000)} | ${rssMegabytes(system.writer.child.pid).toFixed(0)} | ${rssMegabytes(system.relay.child.pid).toFixed(0)} | ${rssMegabytes(system.query.child.pid).toFixed(0)} | ${await system.relayBacklog()} | ${await queueDepth(system.vhost, QUERY_QUEUE)} | ${event} |`,
      );
    }
    const out = join(__dirname, '..', '..', 'bench', 'results');
    mkdirSync(out, { recursive: true });
    const report = [
      `Soak of ${minutes} min, ${system.load.acknowledged.length} commands acknowledged.`,
      '',
      ...rows,
    ].join('\n');
    writeFileSync(join(out, 'soak-latest.md'), `${report}\n`);
    process.stdout.write(`${report}\n`);
    await system.quiesceAndReconcile('full');
  });
});
