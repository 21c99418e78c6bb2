import { createTestDatabase, type TestDatabase } from './support/mongo-test-database';
import { createVhost, deleteVhost } from './support/rabbitmq';
import { startService, type ServiceProcess } from './support/service-process';
import { uniqueName } from './support/test-names';

/**
 * A query service stopped right after it started used to hang: its dead-letter intake was
 * still connecting and missed the stop. Each SIGTERM here comes a few milliseconds after the
 * service first answered, while its consumers and background checks are still starting.
 */
const DELAYS_AFTER_START_MS = [0, 0, 0, 5, 20, 60, 150];
const EXIT_WITHIN_MS = 5_000;

let vhost = '';
let amqpUrl = '';
let readStore: TestDatabase;

beforeAll(async () => {
  vhost = uniqueName('query_stop_at_start');
  amqpUrl = await createVhost(vhost);
  readStore = await createTestDatabase('query_stop_at_start');
});

afterAll(async () => {
  await readStore?.drop();
  if (vhost) await deleteVhost(vhost);
});

/** SIGTERM, then the exit code, or 'hung' (and a SIGKILL) when it takes too long. */
async function stopWithin(service: ServiceProcess, ms: number): Promise<number | null | 'hung'> {
  const exited = service.stop('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    exited,
    new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), ms))),
  ]);
  clearTimeout(timer);
  if (outcome === 'hung') {
    service.child.kill('SIGKILL');
    await exited;
  }
  return outcome;
}

describe('a query service stopped right after start', () => {
  it(`exits 0 within ${EXIT_WITHIN_MS} ms of SIGTERM at every moment tried`, async () => {
    const results: { delayMs: number; exit: number | null | 'hung'; tookMs: number }[] = [];
    for (const delayMs of DELAYS_AFTER_START_MS) {
      const service = await startService('query', {
        MONGODB_URL: readStore.url,
        RABBITMQ_URL: amqpUrl,
      });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      const sent = Date.now();
      const exit = await stopWithin(service, EXIT_WITHIN_MS);
      results.push({ delayMs, exit, tookMs: Date.now() - sent });
      if (exit !== 0)
        console.warn(`exit ${String(exit)} after ${delayMs} ms:\n${service.output()}`);
    }
    expect(results.map(({ delayMs, exit }) => ({ delayMs, exit }))).toEqual(
      DELAYS_AFTER_START_MS.map((delayMs) => ({ delayMs, exit: 0 })),
    );
  });
});
