import { randomUUID } from 'node:crypto';

/** A command the service acknowledged with 2xx: its events must exist, whatever happens next. */
export interface Acknowledged {
  orderId: string;
  version: number;
}

/** How one request ended: its HTTP status (0: no answer) and whether it was a replay. */
export interface RequestOutcome {
  status: number;
  replayed: boolean;
}

/**
 * Steady command load over HTTP: each worker walks orders through their lifecycle (place with
 * two lines, add, confirm, pay, then ship or cancel). Failures are allowed under faults; every
 * 2xx answer is recorded, and the base URL can change when a service is restarted.
 */
export class CommandLoad {
  readonly acknowledged: Acknowledged[] = [];
  readonly statuses = new Map<number, number>();
  /** Every request's outcome by idempotency key, in order (a key is retried until answered). */
  readonly outcomes = new Map<string, RequestOutcome[]>();
  /** Idempotency keys of the requests sent and not yet answered or failed. */
  readonly inFlight = new Set<string>();
  private running = false;
  private workers: Promise<void>[] = [];

  constructor(
    private readonly baseUrl: () => string,
    private readonly workerCount = 3,
    private readonly pauseMs = 40,
  ) {}

  start(): void {
    this.running = true;
    this.workers = Array.from({ length: this.workerCount }, (_, i) => this.work(i));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  private async work(worker: number): Promise<void> {
    let orderId = '';
    let step = 0;
    let total = 0;
    while (this.running) {
      const request = (() => {
        switch (step) {
          case 0:
            orderId = randomUUID();
            total = 2 * 700 + 150;
            return [
              '/orders',
              {
                orderId,
                customerId: `load-${worker}`,
                currency: 'EUR',
                items: [
                  { sku: `SKU-${Math.floor(Math.random() * 20)}`, quantity: 2, unitPrice: 700 },
                  { sku: 'GIFT', quantity: 1, unitPrice: 150 },
                ],
              },
            ] as const;
          case 1:
            total += 300;
            return [
              `/orders/${orderId}/items`,
              { sku: 'EXTRA', quantity: 1, unitPrice: 300 },
            ] as const;
          case 2:
            return [`/orders/${orderId}/confirm`, undefined] as const;
          case 3:
            return [
              `/orders/${orderId}/pay`,
              { paymentId: `pay-${orderId}`, amount: total },
            ] as const;
          default:
            return Math.random() < 0.3
              ? ([`/orders/${orderId}/cancel`, { reason: 'load test' }] as const)
              : ([`/orders/${orderId}/ship`, { carrier: 'DHL', trackingNumber: 'T-1' }] as const);
        }
      })();
      const [path, body] = request;
      const key = `${orderId}:${step}`;
      this.inFlight.add(key);
      let outcome: RequestOutcome = { status: 0, replayed: false };
      try {
        const response = await fetch(`${this.baseUrl()}${path}`, {
          method: 'POST',
          // The key makes a retry after an ambiguous failure safe.
          headers: { 'content-type': 'application/json', 'idempotency-key': key },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(10_000),
        });
        this.statuses.set(response.status, (this.statuses.get(response.status) ?? 0) + 1);
        outcome = {
          status: response.status,
          replayed: response.headers.get('idempotent-replayed') === 'true',
        };
        const answer = (await response.json()) as { orderId?: string; version?: number };
        if (response.ok && answer.orderId && answer.version) {
          this.acknowledged.push({ orderId: answer.orderId, version: answer.version });
          step = (step + 1) % 5;
        } else if (response.status < 500) {
          step = 0; // refused: start a new order
        }
      } catch {
        this.statuses.set(0, (this.statuses.get(0) ?? 0) + 1); // no answer: retry the same step
      } finally {
        this.inFlight.delete(key);
        this.record(key, outcome);
      }
      await new Promise((resolve) => setTimeout(resolve, this.pauseMs));
    }
  }

  private record(key: string, outcome: RequestOutcome): void {
    const outcomes = this.outcomes.get(key);
    if (outcomes) outcomes.push(outcome);
    else this.outcomes.set(key, [outcome]);
  }
}
