interface Waiting<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Handles items concurrently across orders and strictly one run after another per order, so
 * no read document ever has two concurrent writers (FerretDB updates are read-modify-write).
 * An order's items that arrive while its run is in flight wait, and form its next run
 * together: a consumer that falls behind writes an order's view once for all the events of it
 * that it holds, instead of once per event. An order with nothing in flight starts at once.
 */
export class PerOrderRuns<T, R> {
  private readonly orders = new Map<string, Waiting<T, R>[]>();
  private readonly running = new Set<Promise<void>>();

  /** `handleRun` gets an order's items in arrival order and returns each one's result. */
  constructor(private readonly handleRun: (items: T[]) => Promise<R[]>) {}

  /** Resolves with the item's result once the run that took it has finished. */
  submit(orderId: string, item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const waiting = this.orders.get(orderId);
      if (waiting) {
        waiting.push({ item, resolve, reject });
        return;
      }
      const queue = [{ item, resolve, reject }];
      this.orders.set(orderId, queue);
      const running = this.runAll(orderId, queue);
      this.running.add(running);
      void running.finally(() => this.running.delete(running));
    });
  }

  get pendingOrders(): number {
    return this.orders.size;
  }

  /** Resolves when every submitted item, including ones submitted while waiting, is done. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  private async runAll(orderId: string, queue: Waiting<T, R>[]): Promise<void> {
    while (queue.length > 0) {
      const run = queue.splice(0);
      try {
        const results = await this.handleRun(run.map((waiting) => waiting.item));
        run.forEach((waiting, i) => waiting.resolve(results[i] as R));
      } catch (error) {
        run.forEach((waiting) => waiting.reject(error));
      }
    }
    this.orders.delete(orderId);
  }
}
