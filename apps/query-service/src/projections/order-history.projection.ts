import type { EventEnvelope } from '@orders/contracts';
import type { OrderHistoryDocument } from './order-history.document';
import type { OrderViewDocument } from './order-view.document';
import { evolveOrderView, orderViewIdOf } from './order-view.projection';

export function orderHistoryIdOf(orderId: string, version: number): string {
  return `${orderViewIdOf(orderId)}:${version}`;
}

/** The history entry of one event: everything needed to fold it again later. */
export function orderHistoryEntryOf(envelope: EventEnvelope): OrderHistoryDocument {
  return {
    _id: orderHistoryIdOf(envelope.orderId, envelope.version),
    orderId: orderViewIdOf(envelope.orderId),
    version: envelope.version,
    eventId: envelope.eventId,
    type: envelope.type,
    schemaVersion: envelope.schemaVersion,
    position: envelope.position,
    occurredAt: new Date(envelope.occurredAt),
    correlationId: envelope.correlationId,
    causationId: envelope.causationId,
    data: envelope.data,
  };
}

/** The envelope an entry was made from (its data was validated on the way in). */
export function envelopeOfHistoryEntry(entry: OrderHistoryDocument): EventEnvelope {
  return {
    eventId: entry.eventId,
    type: entry.type,
    schemaVersion: entry.schemaVersion,
    orderId: entry.orderId,
    version: entry.version,
    position: entry.position,
    occurredAt: entry.occurredAt.toISOString(),
    correlationId: entry.correlationId,
    causationId: entry.causationId,
    data: entry.data,
  } as EventEnvelope;
}

/** Where a point-in-time read stops: after a version, or at the last event not after an instant. */
export type PointInTime = { atVersion: number } | { asOf: Date };

/**
 * The order's view as it was at `pointInTime`, folded with the same evolve the projection
 * uses; null if the order did not exist yet. `entries` are the order's committed history in
 * ascending version order. Folding stops at the first event after `asOf`, so a clock that
 * went backwards between two events can never leave a gap in the fold.
 */
export function orderViewAt(
  entries: OrderHistoryDocument[],
  pointInTime: PointInTime,
): OrderViewDocument | null {
  let view: OrderViewDocument | null = null;
  for (const entry of entries) {
    const reached =
      'atVersion' in pointInTime
        ? entry.version > pointInTime.atVersion
        : entry.occurredAt.getTime() > pointInTime.asOf.getTime();
    if (reached) break;
    view = evolveOrderView(view, envelopeOfHistoryEntry(entry));
  }
  if (view && 'atVersion' in pointInTime && view.version !== pointInTime.atVersion) return null;
  return view;
}
