import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds a service with the Nest CLI unless its dist is newer than its sources and the libs. */
export function ensureServiceBuilt(service: 'command-service' | 'query-service'): void {
  const entry = join(ROOT, `dist/apps/${service}/apps/${service}/src/main.js`);
  let built = 0;
  try {
    built = statSync(entry).mtimeMs;
  } catch {
    // not built yet
  }
  const sources = Math.max(
    newestMtime(join(ROOT, 'apps', service, 'src')),
    newestMtime(join(ROOT, 'libs')),
  );
  if (built > sources) return;
  const started = Date.now();
  try {
    execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules/@nestjs/cli/bin/nest.js'), 'build', service],
      {
        cwd: ROOT,
        stdio: 'pipe',
      },
    );
  } catch (error) {
    // tsc still emits on type errors elsewhere in the workspace; only a missing build is fatal.
    if ((statSync(entry, { throwIfNoEntry: false })?.mtimeMs ?? 0) < started) throw error;
    const output = (error as { stdout?: Buffer }).stdout?.toString() ?? '';
    console.warn(`nest build ${service} reported errors but emitted:\n${output.slice(0, 2000)}`);
  }
}
