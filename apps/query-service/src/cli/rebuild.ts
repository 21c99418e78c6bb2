import { setTimeout as sleep } from 'node:timers/promises';
import { loadAdminCliConfig } from '../config/admin-cli.config';
import type { RebuildStatus } from '../rebuild/read-model.rebuilder';
import { AdminApiClient, parseArgs, runCli } from './admin-api.client';

const USAGE = `usage: rebuild <command>
  start [--wait]   rebuild every read model from the command service's feed (or resume one)
  status           the active generation and the latest rebuild's progress
environment: QUERY_SERVICE_URL (default http://127.0.0.1:3001), QUERY_SERVICE_TOKEN`;

runCli(async (args) => {
  const { positional, options } = parseArgs(args);
  const api = new AdminApiClient(loadAdminCliConfig());
  switch (positional[0]) {
    case 'start': {
      let status = await api.request<RebuildStatus>('POST', '/admin/rebuild');
      print(status);
      if (!options.has('wait')) return;
      while (status.rebuild?.phase === 'building' || status.rebuild?.phase === 'switching') {
        await sleep(1000);
        status = await api.request<RebuildStatus>('GET', '/admin/rebuild');
        print(status);
      }
      if (status.rebuild?.phase === 'failed')
        throw new Error(`rebuild failed: ${status.rebuild.error ?? ''}`);
      return;
    }
    case 'status':
      console.log(
        JSON.stringify(await api.request<RebuildStatus>('GET', '/admin/rebuild'), null, 2),
      );
      return;
    case undefined:
    default:
      throw new Error(USAGE);
  }
});

function print({ activeGeneration, rebuild }: RebuildStatus): void {
  if (rebuild === null) {
    console.log(`serving generation ${activeGeneration}; no rebuild yet`);
    return;
  }
  console.log(
    `serving generation ${activeGeneration}; rebuild of generation ${rebuild.generation}: ${rebuild.phase}, ` +
      `${rebuild.eventsApplied} events, checkpoint ${rebuild.checkpoint}${rebuild.error ? `, error: ${rebuild.error}` : ''}`,
  );
}
