export interface GroupWriterOptions<T, R> {
  /** Writes the items in one go and returns each one's result, in the order given. */
  writeTogether: (items: T[]) => Promise<R[]>;
  /** Writes in flight at once; items submitted meanwhile wait and share the next one. */
  concurrency: number;
  maxBatch: number;
  /** Items of one batch share this (a batch takes the oldest item's); default: all do. */
  groupOf?: (item: T) => unknown;
  /** Items with the same key never share a batch; default: no key. */
  keyOf?: (item: T) => string;
  /** True when a failed batch would fail each of its items alone too (the store is down). */
  failsEveryItem?: (error: unknown) => boolean;
}

interface Waiting<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit, for any store: items submitted while earlier writes are in flight are
 * written together in the next one, so the cost of a write (round trips, a flush) is shared
 * instead of paid per item. While fewer than `concurrency` writes are in flight an item is
 * written at once (alone, when nothing else waits), so a quiet service adds no delay.
 *
 * A batch is all or nothing for the store but not for its items: when it fails, each item is
 * written again on its own, so only the item at fault sees its error (unless
 * `failsEveryItem` says they would all fail anyway).
 */
export class GroupWriter<T, R> {
  private readonly waiting: Waiting<T, R>[] = [];
  private inFlight = 0;

  constructor(private readonly options: GroupWriterOptions<T, R>) {}

  write(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.startWrites();
    });
  }

  private startWrites(): void {
    while (this.inFlight < this.options.concurrency && this.waiting.length > 0) {
      const batch = this.takeBatch();
      this.inFlight += 1;
      void this.writeBatch(batch).finally(() => {
        this.inFlight -= 1;
        this.startWrites();
      });
    }
  }

  /** The oldest waiting items of the oldest one's group, at most one per key. */
  private takeBatch(): Waiting<T, R>[] {
    const { groupOf, keyOf, maxBatch } = this.options;
    if (!groupOf && !keyOf) return this.waiting.splice(0, maxBatch);
    const group = groupOf?.((this.waiting[0] as Waiting<T, R>).item);
    const keys = new Set<string>();
    const batch: Waiting<T, R>[] = [];
    for (let i = 0; i < this.waiting.length && batch.length < maxBatch;) {
      const waiting = this.waiting[i] as Waiting<T, R>;
      const key = keyOf?.(waiting.item);
      if (groupOf?.(waiting.item) === group && (key === undefined || !keys.has(key))) {
        if (key !== undefined) keys.add(key);
        batch.push(waiting);
        this.waiting.splice(i, 1);
      } else i += 1;
    }
    return batch;
  }

  private async writeBatch(batch: Waiting<T, R>[]): Promise<void> {
    let results: R[];
    try {
      results = await this.options.writeTogether(batch.map((waiting) => waiting.item));
    } catch (error) {
      if (batch.length === 1 || this.options.failsEveryItem?.(error)) {
        batch.forEach((waiting) => waiting.reject(error));
      } else {
        await Promise.all(batch.map((waiting) => this.writeBatch([waiting])));
      }
      return;
    }
    batch.forEach((waiting, i) => waiting.resolve(results[i] as R));
  }
}
