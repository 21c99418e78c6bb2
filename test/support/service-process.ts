import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { waitFor } from './wait-for';

/** The repository root, found from here whether this runs from test/ or from dist/. */
function repositoryRoot(from: string): string {
  return existsSync(join(from, 'package.json')) ? from : repositoryRoot(dirname(from));
}

const ROOT = repositoryRoot(__dirname);
const ENTRY = {
  command: join(ROOT, 'dist/apps/command-service/apps/command-service/src/main.js'),
  query: join(ROOT, 'dist/apps/query-service/apps/query-service/src/main.js'),
};

/**
 * Every service's whole output, one file per process (`output()` keeps only the end), so a
 * failed run can tell what each service said about, say, one order.
 */
export const SERVICE_LOG_DIR =
  process.env.SERVICE_LOG_DIR ?? join(tmpdir(), 'orders-cqrs-service-logs', String(process.pid));

/** The lines of every service's output in this run that mention `text`, by process. */
export function serviceLinesAbout(text: string, perService = 30): string {
  if (!existsSync(SERVICE_LOG_DIR)) return '';
  return readdirSync(SERVICE_LOG_DIR)
    .map((file) => {
      const lines = readFileSync(join(SERVICE_LOG_DIR, file), 'utf8')
        .split('\n')
        .filter((line) => line.includes(text));
      return lines.length === 0
        ? ''
        : `--- ${file} (${lines.length} lines, the first ${perService}):\n` +
            lines.slice(0, perService).join('\n');
    })
    .filter((section) => section !== '')
    .join('\n');
}

/** A service started from its built main module, as a user starts it, in a child process. */
export interface ServiceProcess {
  readonly url: string;
  readonly child: ChildProcess;
  output(): string;
  /** Sends the signal and resolves once the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function startService(
  kind: keyof typeof ENTRY,
  env: Record<string, string>,
): Promise<ServiceProcess> {
  const port = await freePort();
  // SERVICE_NODE_ARGS: Node options for every service, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
  const nodeArgs = (process.env.SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, ENTRY[kind]], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      // Tests and benchmarks drive a service from one address far past any per-client limit;
      // the security tests set their own.
      RATE_LIMIT_PER_MINUTE: '0',
      ...env,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  mkdirSync(SERVICE_LOG_DIR, { recursive: true });
  const logFile = join(SERVICE_LOG_DIR, `${kind}-${child.pid}.log`);
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
    appendFileSync(logFile, chunk);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let stopping = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      // A service that dies on its own (a crash, a port taken) would otherwise go unnoticed.
      if (!stopping && code !== null) {
        console.warn(`${kind} service exited by itself (code ${code}):\n${output.slice(-4_000)}`);
      }
      resolve(code);
    }),
  );
  const service: ServiceProcess = {
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    stop: async (signal = 'SIGTERM') => {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      // A shutdown that hangs is reported, then ended, so one bug cannot hang a whole run.
      const timer = setTimeout(() => {
        console.warn(`${kind} service did not exit within 30 s of ${signal}; killing it`);
        child.kill('SIGKILL');
      }, 30_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const response = await fetch(`${service.url}/health/live`);
      if (response.ok) return service;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await service.stop('SIGKILL');
  throw new Error(`${kind} service did not start:\n${output}`);
}

/** Waits until the service's `/health/ready` answers 200: its dependencies and consumers are up. */
export async function waitUntilReady(service: ServiceProcess): Promise<void> {
  await waitFor('the service to be ready', async () => {
    return (await fetch(`${service.url}/health/ready`)).ok;
  });
}
