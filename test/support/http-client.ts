import { request } from 'node:http';

export interface HttpAnswer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * GET over node:http, sending exactly the given headers (fetch would add `Cache-Control:
 * no-cache` to conditional requests). A (problem+)json body is parsed, anything else kept as text.
 */
export function httpGet<T = unknown>(
  url: string,
  headers: Record<string, string> = {},
): Promise<HttpAnswer<T>> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: 'GET', headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const answerHeaders = new Headers();
        for (const [name, value] of Object.entries(response.headers)) {
          for (const single of [value ?? []].flat()) answerHeaders.append(name, single);
        }
        const text = Buffer.concat(chunks).toString('utf8');
        const isJson = /^application\/(problem\+)?json/.test(
          answerHeaders.get('content-type') ?? '',
        );
        try {
          resolve({
            status: response.statusCode ?? 0,
            headers: answerHeaders,
            body: (isJson ? JSON.parse(text) : text) as T,
          });
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}
