import type { EventEnvelope, OrderEvent, OrderEventOf } from '@orders/contracts';
import type { OrderViewDocument } from './order-view.document';
import { evolveOrderView, OrderViewProjectionError } from './order-view.projection';

const orderId = '6f1c2d4e-8a9b-4c3d-9e2f-1a2b3c4d5e6f';

function envelopeOf(
  version: number,
  event: OrderEvent,
  at = `2026-11-2${version}T10:00:00.000Z`,
): EventEnvelope {
  return {
    eventId: `00000000-0000-4000-8000-${String(version).padStart(12, '0')}`,
    schemaVersion: 1,
    orderId,
    version,
    position: String(100 + version),
    occurredAt: at,
    correlationId: 'corr-1',
    causationId: 'cause-1',
    ...event,
  };
}

function fold(envelopes: EventEnvelope[]): OrderViewDocument {
  let doc: OrderViewDocument | null = null;
  for (const envelope of envelopes) doc = evolveOrderView(doc, envelope);
  if (doc === null) throw new Error('no events');
  return doc;
}

const widget = {
  sku: 'WIDGET-1',
  quantity: 2,
  unitPrice: 1250,
  lineTotal: 2500,
};
const gadget = { sku: 'GADGET:7', quantity: 1, unitPrice: 999, lineTotal: 999 };

const placed = envelopeOf(1, {
  type: 'OrderPlaced',
  data: {
    customerId: 'cust-1',
    currency: 'EUR',
    items: [widget],
    itemCount: 2,
    total: 2500,
  },
});
const gadgetAdded = envelopeOf(2, {
  type: 'OrderItemAdded',
  data: {
    sku: 'GADGET:7',
    quantity: 1,
    unitPrice: 999,
    line: gadget,
    itemCount: 3,
    total: 3499,
  },
});
const confirmed = envelopeOf(3, {
  type: 'OrderConfirmed',
  data: {
    customerId: 'cust-1',
    currency: 'EUR',
    items: [widget, gadget],
    itemCount: 3,
    total: 3499,
  },
});

describe('evolveOrderView', () => {
  it('starts a draft view from OrderPlaced', () => {
    expect(fold([placed])).toEqual({
      _id: orderId,
      customerId: 'cust-1',
      status: 'draft',
      currency: 'EUR',
      items: [widget],
      itemCount: 2,
      total: 2500,
      placedAt: new Date('2026-11-21T10:00:00.000Z'),
      updatedAt: new Date('2026-11-21T10:00:00.000Z'),
      version: 1,
      lastEventId: placed.eventId,
      lastPosition: '101',
      positionKey: '00000000000000000101',
      dailyCounters: [{ day: '2026-11-21', key: '2026-11-21/placed', value: 1 }],
      productCounters: [],
    });
  });

  it('appends a new sku and takes the totals the event states', () => {
    const doc = fold([placed, gadgetAdded]);
    expect(doc.items).toEqual([widget, gadget]);
    expect(doc).toMatchObject({
      itemCount: 3,
      total: 3499,
      version: 2,
      status: 'draft',
    });
    expect(doc.updatedAt).toEqual(new Date(gadgetAdded.occurredAt));
  });

  it('replaces the line in place when more units of a known sku are added', () => {
    const moreWidgets = envelopeOf(2, {
      type: 'OrderItemAdded',
      data: {
        sku: 'WIDGET-1',
        quantity: 3,
        unitPrice: 1250,
        line: {
          sku: 'WIDGET-1',
          quantity: 5,
          unitPrice: 1250,
          lineTotal: 6250,
        },
        itemCount: 5,
        total: 6250,
      },
    });
    const doc = fold([placed, moreWidgets]);
    expect(doc.items).toEqual([{ sku: 'WIDGET-1', quantity: 5, unitPrice: 1250, lineTotal: 6250 }]);
    expect(doc).toMatchObject({ itemCount: 5, total: 6250 });
  });

  it('drops a removed line', () => {
    const removed = envelopeOf(3, {
      type: 'OrderItemRemoved',
      data: { line: widget, itemCount: 1, total: 999 },
    });
    const doc = fold([placed, gadgetAdded, removed]);
    expect(doc.items).toEqual([gadget]);
    expect(doc).toMatchObject({ itemCount: 1, total: 999, version: 3 });
  });

  it('follows an order through confirm, pay and ship', () => {
    const paid = envelopeOf(4, {
      type: 'OrderPaid',
      data: { paymentId: 'pay-1', amount: 3499, currency: 'EUR' },
    });
    const shipped = envelopeOf(5, {
      type: 'OrderShipped',
      data: { carrier: 'DHL', trackingNumber: 'TRACK-1' },
    });
    const doc = fold([placed, gadgetAdded, confirmed, paid, shipped]);
    expect(doc).toMatchObject({
      status: 'shipped',
      items: [widget, gadget],
      itemCount: 3,
      total: 3499,
      confirmedAt: new Date(confirmed.occurredAt),
      payment: {
        paymentId: 'pay-1',
        amount: 3499,
        paidAt: new Date(paid.occurredAt),
      },
      shipment: {
        carrier: 'DHL',
        trackingNumber: 'TRACK-1',
        shippedAt: new Date(shipped.occurredAt),
      },
      placedAt: new Date(placed.occurredAt),
      updatedAt: new Date(shipped.occurredAt),
      version: 5,
      lastEventId: shipped.eventId,
    });
  });

  it('records the cancellation with the status the order left', () => {
    const cancelled = envelopeOf(4, {
      type: 'OrderCancelled',
      data: {
        reason: 'customer changed their mind',
        previousStatus: 'confirmed',
        currency: 'EUR',
        items: [widget, gadget],
        total: 3499,
      },
    });
    const doc = fold([placed, gadgetAdded, confirmed, cancelled]);
    expect(doc).toMatchObject({
      status: 'cancelled',
      itemCount: 3,
      total: 3499,
      confirmedAt: new Date(confirmed.occurredAt),
      cancellation: {
        reason: 'customer changed their mind',
        cancelledAt: new Date(cancelled.occurredAt),
        previousStatus: 'confirmed',
      },
      version: 4,
    });
  });

  it('leaves the input document untouched', () => {
    const draft = fold([placed]);
    const snapshot = structuredClone(draft);
    evolveOrderView(draft, gadgetAdded);
    expect(draft).toEqual(snapshot);
  });

  it('never writes undefined fields, which MongoDB would store as null', () => {
    const doc = fold([placed, gadgetAdded, confirmed]);
    expect(Object.values(doc)).not.toContain(undefined);
    expect(Object.keys(doc)).not.toEqual(
      expect.arrayContaining(['payment', 'shipment', 'cancellation']),
    );
  });

  it('keys the view by the lower-case order id', () => {
    const shouted = { ...placed, orderId: orderId.toUpperCase() };
    expect(evolveOrderView(null, shouted)._id).toBe(orderId);
  });

  it('refuses events that cannot follow the document', () => {
    const draft = fold([placed]);
    expect(() => evolveOrderView(null, gadgetAdded)).toThrow(OrderViewProjectionError);
    expect(() => evolveOrderView(draft, { ...placed, version: 2 })).toThrow(
      OrderViewProjectionError,
    );
    expect(() => evolveOrderView(draft, confirmed)).toThrow(OrderViewProjectionError);
    expect(() => evolveOrderView(null, { ...placed, version: 2 })).toThrow(
      OrderViewProjectionError,
    );
    expect(() =>
      evolveOrderView(draft, {
        ...gadgetAdded,
        orderId: '11111111-2222-4333-8444-555555555555',
      }),
    ).toThrow(OrderViewProjectionError);
  });
});

describe('evolveOrderView: what an order adds to the stats', () => {
  const paid = envelopeOf(4, {
    type: 'OrderPaid',
    data: { paymentId: 'pay-1', amount: 3499, currency: 'EUR' },
  });
  const cancelledFrom = (version: number, previousStatus: 'draft' | 'confirmed' | 'paid') =>
    envelopeOf(
      version,
      {
        type: 'OrderCancelled',
        data: {
          reason: 'r',
          previousStatus,
          currency: 'EUR',
          items: [widget, gadget],
          total: 3499,
        },
      },
      '2026-11-29T23:59:59.999Z',
    );

  it('counts a placed order on its UTC placing day, and nothing sold while draft', () => {
    const lateInBerlin = envelopeOf(
      1,
      { type: 'OrderPlaced', data: placed.data as OrderEventOf<'OrderPlaced'>['data'] },
      '2026-11-30T00:30:00+01:00',
    );
    const doc = fold([lateInBerlin, gadgetAdded]);
    expect(doc.dailyCounters).toEqual([{ day: '2026-11-29', key: '2026-11-29/placed', value: 1 }]);
    expect(doc.productCounters).toEqual([]);
  });

  it('adds the confirmation, its revenue and the confirmed lines', () => {
    const doc = fold([placed, gadgetAdded, confirmed]);
    expect(doc.dailyCounters).toEqual([
      { day: '2026-11-21', key: '2026-11-21/placed', value: 1 },
      { day: '2026-11-23', key: '2026-11-23/confirmed', value: 1 },
      { day: '2026-11-23', key: '2026-11-23/revenue', value: 3499 },
    ]);
    expect(doc.productCounters).toEqual([
      { key: 'EUR/WIDGET-1/unitsSold', value: 2 },
      { key: 'EUR/WIDGET-1/revenue', value: 2500 },
      { key: 'EUR/WIDGET-1/orders', value: 1 },
      { key: 'EUR/GADGET:7/unitsSold', value: 1 },
      { key: 'EUR/GADGET:7/revenue', value: 999 },
      { key: 'EUR/GADGET:7/orders', value: 1 },
    ]);
    expect(fold([placed, gadgetAdded, confirmed, paid]).productCounters).toEqual(
      doc.productCounters,
    );
  });

  it('takes the revenue off on the cancelling day when a confirmed or paid order is cancelled', () => {
    for (const events of [
      [placed, gadgetAdded, confirmed, cancelledFrom(4, 'confirmed')],
      [placed, gadgetAdded, confirmed, paid, cancelledFrom(5, 'paid')],
    ]) {
      const doc = fold(events);
      expect(doc.dailyCounters.slice(3)).toEqual([
        { day: '2026-11-29', key: '2026-11-29/cancelled', value: 1 },
        { day: '2026-11-29', key: '2026-11-29/revenue', value: -3499 },
      ]);
      expect(doc.productCounters).toEqual([]);
    }
  });

  it('counts a cancelled draft as cancelled only', () => {
    const doc = fold([placed, gadgetAdded, cancelledFrom(3, 'draft')]);
    expect(doc.dailyCounters).toEqual([
      { day: '2026-11-21', key: '2026-11-21/placed', value: 1 },
      { day: '2026-11-29', key: '2026-11-29/cancelled', value: 1 },
    ]);
  });
});
