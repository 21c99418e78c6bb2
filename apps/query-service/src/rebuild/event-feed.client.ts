import { Inject, Injectable } from '@nestjs/common';
import { parseEventEnvelope, type EventEnvelope } from '@orders/contracts';
import { QUERY_SERVICE_CONFIG, type QueryServiceConfig } from '../config/query-service.config';

export interface FeedPage {
  events: EventEnvelope[];
  lastPosition: string;
}

/** The feed cannot be read right now (network, command service down): worth retrying. */
export class FeedUnavailableError extends Error {
  override readonly name = 'FeedUnavailableError';
}

/** The feed answered something that is not a valid page: retrying will not help. */
export class FeedContentError extends Error {
  override readonly name: string = 'FeedContentError';
}

/**
 * The command service refused the feed (401/403): the rebuild needs COMMAND_SERVICE_TOKEN, or a
 * valid one with scope `orders:read`. A content error, so the rebuild fails at once and says so
 * instead of retrying a request that cannot succeed.
 */
export class FeedAuthorizationError extends FeedContentError {
  override readonly name: string = 'FeedAuthorizationError';
}

const FEED_TIMEOUT_MS = 15_000;

/** The command service's catch-up feed, `GET /events?after=&limit=` (§3), in position order. */
@Injectable()
export class EventFeedClient {
  constructor(@Inject(QUERY_SERVICE_CONFIG) private readonly config: QueryServiceConfig) {}

  async readPage(after: string, limit: number): Promise<FeedPage> {
    const url = `${this.config.commandServiceUrl}/events?after=${after}&limit=${limit}`;
    let response: Response;
    try {
      const token = this.config.commandServiceToken;
      response = await fetch(url, {
        headers: {
          accept: 'application/json',
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        },
        signal: AbortSignal.timeout(FEED_TIMEOUT_MS),
      });
    } catch (error) {
      throw new FeedUnavailableError(`GET ${url}: ${messageOf(error)}`);
    }
    if (response.status === 401 || response.status === 403) {
      throw this.refusal(url, response);
    }
    if (!response.ok) {
      const text = await response.text().catch(() => '');
      const problem = `GET ${url}: HTTP ${response.status} ${text.slice(0, 300)}`;
      throw response.status >= 500 || response.status === 429
        ? new FeedUnavailableError(problem)
        : new FeedContentError(problem);
    }
    const body = (await response.json().catch(() => null)) as {
      events?: unknown;
      lastPosition?: unknown;
    } | null;
    if (!body || !Array.isArray(body.events) || typeof body.lastPosition !== 'string') {
      throw new FeedContentError(`GET ${url}: not a feed page`);
    }
    const events = body.events.map((item, index) => {
      const parsed = parseEventEnvelope(item);
      if (!parsed.ok) throw new FeedContentError(`event ${index} after ${after}: ${parsed.reason}`);
      return parsed.envelope;
    });
    return { events, lastPosition: body.lastPosition };
  }

  private refusal(url: string, response: Response): FeedAuthorizationError {
    const challenge = response.headers.get('www-authenticate') ?? '';
    const reason =
      this.config.commandServiceToken === null
        ? 'set COMMAND_SERVICE_TOKEN to a bearer token with scope orders:read'
        : response.status === 403
          ? 'the token in COMMAND_SERVICE_TOKEN lacks scope orders:read'
          : 'the token in COMMAND_SERVICE_TOKEN was refused (expired, or another issuer, audience or key?)';
    return new FeedAuthorizationError(
      `GET ${url}: HTTP ${response.status}: the command service needs a token: ${reason}${challenge ? ` (${challenge})` : ''}`,
    );
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
