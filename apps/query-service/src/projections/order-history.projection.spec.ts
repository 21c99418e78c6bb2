import type { EventEnvelope } from '@orders/contracts';
import type { OrderHistoryDocument } from './order-history.document';
import {
  envelopeOfHistoryEntry,
  orderHistoryEntryOf,
  orderViewAt,
} from './order-history.projection';
import { evolveOrderView } from './order-view.projection';

const orderId = '0b9f7c1e-4d2a-4e8b-9c3d-2f1e0a9b8c7d';

function envelope(
  version: number,
  occurredAt: string,
  event: Pick<EventEnvelope, 'type' | 'data'>,
) {
  return {
    eventId: `00000000-0000-4000-8000-${String(version).padStart(12, '0')}`,
    schemaVersion: 1,
    orderId,
    version,
    position: String(1000 + version),
    occurredAt,
    correlationId: `corr-${version}`,
    causationId: `cause-${version}`,
    ...event,
  } as EventEnvelope;
}

const events: EventEnvelope[] = [
  envelope(1, '2026-11-20T10:00:00.000Z', {
    type: 'OrderPlaced',
    data: { customerId: 'c-1', currency: 'EUR', items: [], itemCount: 0, total: 0 },
  }),
  envelope(2, '2026-11-20T11:00:00.000Z', {
    type: 'OrderItemAdded',
    data: {
      sku: 'TEA',
      quantity: 2,
      unitPrice: 300,
      line: { sku: 'TEA', quantity: 2, unitPrice: 300, lineTotal: 600 },
      itemCount: 2,
      total: 600,
    },
  }),
  envelope(3, '2026-11-21T09:00:00.000Z', {
    type: 'OrderConfirmed',
    data: {
      customerId: 'c-1',
      currency: 'EUR',
      items: [{ sku: 'TEA', quantity: 2, unitPrice: 300, lineTotal: 600 }],
      itemCount: 2,
      total: 600,
    },
  }),
];
const entries: OrderHistoryDocument[] = events.map(orderHistoryEntryOf);

function foldAll(list: EventEnvelope[]) {
  return list.reduce<ReturnType<typeof evolveOrderView> | null>(evolveOrderView, null);
}

describe('order history entries', () => {
  it('are keyed by order and version and give back the very envelope', () => {
    expect(entries[1]).toMatchObject({
      _id: `${orderId}:2`,
      orderId,
      version: 2,
      type: 'OrderItemAdded',
      occurredAt: new Date('2026-11-20T11:00:00.000Z'),
      correlationId: 'corr-2',
    });
    expect(entries.map(envelopeOfHistoryEntry)).toEqual(events);
  });

  it('key an upper-case order id in lower case', () => {
    const shouted = { ...events[0]!, orderId: orderId.toUpperCase() };
    expect(orderHistoryEntryOf(shouted)).toMatchObject({ _id: `${orderId}:1`, orderId });
  });
});

describe('orderViewAt', () => {
  it('folds up to a version with the projection the live view uses', () => {
    expect(orderViewAt(entries, { atVersion: 2 })).toEqual(foldAll(events.slice(0, 2)));
    expect(orderViewAt(entries, { atVersion: 3 })).toEqual(foldAll(events));
  });

  it('folds the events that had happened by an instant (inclusive)', () => {
    expect(orderViewAt(entries, { asOf: new Date('2026-11-20T11:00:00.000Z') })).toEqual(
      foldAll(events.slice(0, 2)),
    );
    expect(orderViewAt(entries, { asOf: new Date('2026-11-20T10:59:59.999Z') })).toMatchObject({
      version: 1,
      status: 'draft',
      total: 0,
    });
    expect(orderViewAt(entries, { asOf: new Date('2030-01-01T00:00:00Z') })).toMatchObject({
      version: 3,
      status: 'confirmed',
    });
  });

  it('is null before the order existed, or at a version it has not reached', () => {
    expect(orderViewAt(entries, { asOf: new Date('2026-11-20T09:59:59.999Z') })).toBeNull();
    expect(orderViewAt(entries, { atVersion: 4 })).toBeNull();
    expect(orderViewAt(entries.slice(0, 2), { atVersion: 3 })).toBeNull();
  });

  it('stops at the first event after the instant, even if a later clock went backwards', () => {
    const skewed = [...entries];
    skewed[2] = { ...entries[2]!, occurredAt: new Date('2026-11-20T10:30:00.000Z') };
    expect(orderViewAt(skewed, { asOf: new Date('2026-11-20T10:45:00.000Z') })).toMatchObject({
      version: 1,
    });
  });
});
