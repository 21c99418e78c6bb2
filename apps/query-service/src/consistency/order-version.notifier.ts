import { Injectable } from '@nestjs/common';

type VersionListener = (version: number) => void;

/**
 * In-process signal that an order's view advanced, so read-your-writes waits on the replica
 * that is the active consumer wake at once instead of at the next poll.
 */
@Injectable()
export class OrderVersionNotifier {
  private readonly listeners = new Map<string, Set<VersionListener>>();

  notifyOrderVersion(orderId: string, version: number): void {
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
