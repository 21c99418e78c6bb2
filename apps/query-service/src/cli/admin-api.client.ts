import type { AdminCliConfig } from '../config/admin-cli.config';

export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}: ${typeof body === 'string' ? body : JSON.stringify(body)}`);
  }
}

/** The query service's admin API over HTTP, for the command-line tools. */
export class AdminApiClient {
  constructor(private readonly config: AdminCliConfig) {}

  async request<T>(method: 'GET' | 'POST', path: string): Promise<T> {
    const response = await fetch(`${this.config.queryServiceUrl}${path}`, {
      method,
      headers: {
        accept: 'application/json',
        ...(this.config.adminToken && { authorization: `Bearer ${this.config.adminToken}` }),
      },
      signal: AbortSignal.timeout(120_000),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    if (!response.ok) throw new AdminApiError(response.status, body);
    return body as T;
  }
}

/** Runs a CLI's main function: exit 0 on success, 1 with the message on failure. */
export function runCli(main: (args: string[]) => Promise<void>): void {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exit(1);
    },
  );
}

/** `--name value` options and positional arguments. */
export function parseArgs(args: string[]): { positional: string[]; options: Map<string, string> } {
  const positional: string[] = [];
  const options = new Map<string, string>();
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] ?? '';
    if (arg.startsWith('--')) {
      const next = args[index + 1];
      if (next !== undefined && !next.startsWith('--')) {
        options.set(arg.slice(2), next);
        index += 1;
      } else options.set(arg.slice(2), 'true');
    } else positional.push(arg);
  }
  return { positional, options };
}
