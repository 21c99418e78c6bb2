import { Pool } from 'undici';

/** A keep-alive HTTP client pool, the same for every HTTP figure (services and ceiling). */
export class HttpClient {
  private readonly pool: Pool;

  constructor(origin: string, connections: number) {
    this.pool = new Pool(origin, { connections, pipelining: 1 });
  }

  async request(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const response = await this.pool.request({
      method,
      path,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.body.text();
    return {
      status: response.statusCode,
      json: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : {},
    };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
