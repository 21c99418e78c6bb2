import { Pool } from 'undici';

/**
 * A keep-alive HTTP client pool, the same for every HTTP figure (services and ceiling). Given
 * several origins (replicas of a service), it sends requests to them in turn, as a load
 * balancer in front of them would.
 */
export class HttpClient {
  private readonly pools: Pool[];
  private turn = 0;

  constructor(origins: string | string[], connections: number) {
    this.pools = [origins].flat().map((origin) => new Pool(origin, { connections, pipelining: 1 }));
  }

  async request(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const pool = this.pools[this.turn++ % this.pools.length]!;
    const response = await pool.request({
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

  async close(): Promise<void> {
    await Promise.all(this.pools.map((pool) => pool.close()));
  }
}
