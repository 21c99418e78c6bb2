import type { EventEnvelope } from '@orders/contracts';
import type { OrderViewDocument } from '../../apps/query-service/src/projections/order-view.document';
import type { ReadModelCollections } from '../../apps/query-service/src/read-store/read-model.collections';
import type { ReadModelWriter } from '../../apps/query-service/src/read-store/read-model.writer';

export type ApplyOutcome =
  /** `view` is the view as this write left it in the store. */
  | { kind: 'applied'; orderId: string; version: number; view: OrderViewDocument }
  | { kind: 'duplicate'; orderId: string; version: number }
  /** An earlier event of this order has not been applied yet; this one must wait. */
  | { kind: 'gap'; orderId: string; version: number };

/** Applies one delivered event as the consumer does, a run of one, and says what came of it. */
export async function applyOneEvent(
  writer: ReadModelWriter,
  target: ReadModelCollections,
  envelope: EventEnvelope,
): Promise<ApplyOutcome> {
  const { orderId, version, view, applied, waiting } = await writer.applyLiveRun(target, [
    envelope,
  ]);
  if (applied.length > 0 && view !== null) return { kind: 'applied', orderId, version, view };
  return waiting.length > 0
    ? { kind: 'gap', orderId, version }
    : { kind: 'duplicate', orderId, version };
}
