import { randomUUID } from 'node:crypto';
import type { HttpClient } from './http-client';
import { Latencies } from './stats';

/**
 * A realistic order lifecycle per worker: place with two lines, add a line, confirm, pay,
 * ship — five commands an order, spread over 50 customers.
 */
export class OrderLifecycleWorkload {
  readonly latencies = new Latencies();
  readonly placed: { orderId: string; customerId: string }[] = [];
  failures = 0;
  private readonly state: { orderId: string; step: number; total: number }[] = [];

  constructor(private readonly http: HttpClient) {}

  /** Runs the worker's next command; returns the answer's consistency token, if any. */
  async next(worker: number): Promise<string | undefined> {
    const current = (this.state[worker] ??= { orderId: '', step: 0, total: 0 });
    const started = performance.now();
    const answer = await this.send(current);
    this.latencies.record(performance.now() - started);
    if (answer.status >= 300) {
      this.failures += 1;
      current.step = 0;
      return undefined;
    }
    current.step = (current.step + 1) % 5;
    return answer.json.consistencyToken as string;
  }

  private send(order: { orderId: string; step: number; total: number }) {
    switch (order.step) {
      case 0: {
        order.orderId = randomUUID();
        order.total = 2 * 1250 + 1 * 399;
        const customerId = `customer-${Math.floor(Math.random() * 50)}`;
        this.placed.push({ orderId: order.orderId, customerId });
        return this.http.request('POST', '/orders', {
          orderId: order.orderId,
          customerId,
          currency: 'EUR',
          items: [
            { sku: `SKU-${Math.floor(Math.random() * 200)}`, quantity: 2, unitPrice: 1250 },
            { sku: 'GIFT-WRAP', quantity: 1, unitPrice: 399 },
          ],
        });
      }
      case 1:
        order.total += 3 * 500;
        return this.http.request('POST', `/orders/${order.orderId}/items`, {
          sku: 'EXTRA-1',
          quantity: 3,
          unitPrice: 500,
        });
      case 2:
        return this.http.request('POST', `/orders/${order.orderId}/confirm`);
      case 3:
        return this.http.request('POST', `/orders/${order.orderId}/pay`, {
          paymentId: `pay-${order.orderId}`,
          amount: order.total,
        });
      default:
        return this.http.request('POST', `/orders/${order.orderId}/ship`, {
          carrier: 'DHL',
          trackingNumber: `T-${order.orderId.slice(0, 8)}`,
        });
    }
  }
}
