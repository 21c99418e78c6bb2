import { loadAdminCliConfig } from '../config/admin-cli.config';
import type {
  DeadLetterDetailResponse,
  DeadLetterSummaryResponse,
} from '../dead-letters/dead-letter.response';
import { AdminApiClient, parseArgs, runCli } from './admin-api.client';

const USAGE = `usage: dead-letters <command>
  list [--order <orderId>] [--type <EventType>] [--json]   every stored dead letter, oldest first
  show <id>                                               one dead letter with its body
  replay <id>                                             republish one to the projection's queue
  replay-all [--order <orderId>] [--type <EventType>]     republish every stored one
environment: QUERY_SERVICE_URL (default http://127.0.0.1:3001), QUERY_SERVICE_TOKEN`;

runCli(async (args) => {
  const { positional, options } = parseArgs(args);
  const [command, id] = positional;
  const api = new AdminApiClient(loadAdminCliConfig());
  const filter = new URLSearchParams();
  const order = options.get('order');
  const type = options.get('type');
  if (order !== undefined) filter.set('orderId', order);
  if (type !== undefined) filter.set('eventType', type);

  switch (command) {
    case 'list': {
      const items: DeadLetterSummaryResponse[] = [];
      let cursor: string | null = null;
      do {
        const query = new URLSearchParams(filter);
        query.set('limit', '500');
        if (cursor) query.set('cursor', cursor);
        const page: { items: DeadLetterSummaryResponse[]; nextCursor: string | null } =
          await api.request('GET', `/admin/dead-letters?${query.toString()}`);
        items.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor !== null);
      if (options.has('json')) console.log(JSON.stringify(items, null, 2));
      else printTable(items);
      return;
    }
    case 'show': {
      if (!id) throw new Error(USAGE);
      const detail = await api.request<DeadLetterDetailResponse>(
        'GET',
        `/admin/dead-letters/${id}`,
      );
      console.log(JSON.stringify(detail, null, 2));
      return;
    }
    case 'replay': {
      if (!id) throw new Error(USAGE);
      const result = await api.request<{ replayed: number }>(
        'POST',
        `/admin/dead-letters/${id}/replay`,
      );
      console.log(`replayed ${result.replayed}`);
      return;
    }
    case 'replay-all': {
      const result = await api.request<{ replayed: number }>(
        'POST',
        `/admin/dead-letters/replay-all${filter.size > 0 ? `?${filter.toString()}` : ''}`,
      );
      console.log(`replayed ${result.replayed}`);
      return;
    }
    case undefined:
    default:
      throw new Error(USAGE);
  }
});

function printTable(items: DeadLetterSummaryResponse[]): void {
  console.log(['id', 'type', 'order', 'version', 'reason', 'first death', 'replays'].join('\t'));
  for (const item of items) {
    console.log(
      [
        item.id,
        item.eventType ?? '-',
        item.orderId ?? '-',
        item.version ?? '-',
        item.reason,
        item.firstDeathAt ?? '-',
        item.replays,
      ].join('\t'),
    );
    console.log(`\t${item.diagnosis}`);
  }
  console.log(`${items.length} dead letter(s)`);
}
