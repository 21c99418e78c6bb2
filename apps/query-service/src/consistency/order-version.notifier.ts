import { Injectable } from '@nestjs/common';

type VersionListener = (version: number) => void;

/**
 * In-process signal that an order's view advanced, so read-your-writes waits on the replica
 * that is the active consumer wake at once instead of at the next poll.
 */
@Injectable()
export class OrderVersionNotifier {
  private readonly listeners = new Map<string, Set<VersionListener>>();
  private lastNotifiedAt = Number.NEGATIVE_INFINITY;

  /**
   * True while this replica's consumer is applying events (it applied one within the last
   * `withinMs`): with a single active consumer, the writes a wait is for are then applied, and
   * notified, here.
   */
  appliesEvents(withinMs: number): boolean {
    return performance.now() - this.lastNotifiedAt < withinMs;
  }

  notifyOrderVersion(orderId: string, version: number): void {
    this.lastNotifiedAt = performance.now();
    const listeners = this.listeners.get(orderId);
    if (!listeners) return;
    for (const listener of [...listeners]) listener(version);
  }

  /** Returns the function that stops listening; callers must call it. */
  onOrderVersion(orderId: string, listener: VersionListener): () => void {
    let listeners = this.listeners.get(orderId);
    if (!listeners) {
      listeners = new Set();
      this.listeners.set(orderId, listeners);
    }
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.listeners.get(orderId) === listeners)
        this.listeners.delete(orderId);
    };
  }
}
