/**
 * Runs tasks concurrently across orders and strictly one after another per order, so no read
 * document ever has two concurrent writers (FerretDB updates are read-modify-write).
 */
export class PerOrderSerializer {
  private readonly tails = new Map<string, Promise<void>>();

  /**
   * Queues `task` behind every earlier task of the same order; resolves when it has run.
   * Task errors are the task's own business.
   */
  runInOrder(orderId: string, task: () => Promise<void>): Promise<void> {
    const previous = this.tails.get(orderId) ?? Promise.resolve();
    const tail = previous.then(task).catch(() => undefined);
    this.tails.set(orderId, tail);
    void tail.then(() => {
      if (this.tails.get(orderId) === tail) this.tails.delete(orderId);
    });
    return tail;
  }

  get pendingOrders(): number {
    return this.tails.size;
  }

  /** Resolves when every queued task, including ones queued while waiting, has finished. */
  async drain(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}
