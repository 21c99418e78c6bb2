import type { OrderViewDocument } from '../projections/order-view.document';

/**
 * The views a writer wrote or read last, by order: a hint that saves the read before the next
 * write. Only a hint: a write based on it is version-checked, so a stale one (another replica
 * or attempt wrote since) costs a read, never a wrong view; and a run that the cached view
 * does not simply extend (a duplicate or a gap, as a stale view would show) is decided on a
 * fresh read. Bounded, least recently used out first.
 */
export class ViewCache {
  private readonly views = new Map<string, OrderViewDocument>();

  constructor(private readonly capacity = 50_000) {}

  get(orderId: string): OrderViewDocument | undefined {
    const view = this.views.get(orderId);
    if (view) {
      this.views.delete(orderId);
      this.views.set(orderId, view);
    }
    return view;
  }

  /** Like get, without counting as a use (readers must not keep an entry in). */
  peek(orderId: string): OrderViewDocument | undefined {
    return this.views.get(orderId);
  }

  set(view: OrderViewDocument): void {
    this.views.delete(view._id);
    this.views.set(view._id, view);
    if (this.views.size > this.capacity) {
      const oldest = this.views.keys().next();
      if (!oldest.done) this.views.delete(oldest.value);
    }
  }

  forget(orderId: string): void {
    this.views.delete(orderId);
  }
}
