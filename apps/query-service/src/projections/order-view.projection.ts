import type { EventEnvelope, OrderLine } from '@orders/contracts';
import type { OrderViewDocument } from './order-view.document';
import { dailyCounter, productCountersOf } from './order-stats.counters';

/** The event cannot follow the document: a bug or a corrupt stream, never a retryable state. */
export class OrderViewProjectionError extends Error {
  readonly code = 'ORDER_VIEW_EVENT_OUT_OF_PLACE';

  constructor(message: string) {
    super(message);
    this.name = 'OrderViewProjectionError';
  }
}

/** Positions are decimal strings of up to 20 digits; padded, they compare as text. */
export function positionKeyOf(position: string): string {
  return position.padStart(20, '0');
}

/** UUIDs are case-insensitive; the read model keys them in their canonical lower case. */
export function orderViewIdOf(orderId: string): string {
  return orderId.toLowerCase();
}

/**
 * Folds one event into the order's view. Pure: the caller reads the document, checks that
 * `envelope.version` is the next one, writes the result and acks.
 */
export function evolveOrderView(
  doc: OrderViewDocument | null,
  envelope: EventEnvelope,
): OrderViewDocument {
  const occurredAt = new Date(envelope.occurredAt);
  if (doc === null) {
    if (envelope.type !== 'OrderPlaced' || envelope.version !== 1) {
      throw new OrderViewProjectionError(
        `${envelope.type} v${envelope.version} for order ${envelope.orderId} that has no view`,
      );
    }
    const { data } = envelope;
    return {
      _id: orderViewIdOf(envelope.orderId),
      customerId: data.customerId,
      status: 'draft',
      currency: data.currency,
      items: data.items.map(copyLine),
      itemCount: data.itemCount,
      total: data.total,
      placedAt: occurredAt,
      updatedAt: occurredAt,
      version: 1,
      lastEventId: envelope.eventId,
      lastPosition: envelope.position,
      positionKey: positionKeyOf(envelope.position),
      dailyCounters: [dailyCounter(occurredAt, 'placed', 1)],
      productCounters: [],
    };
  }

  if (doc._id !== orderViewIdOf(envelope.orderId) || envelope.version !== doc.version + 1) {
    throw new OrderViewProjectionError(
      `${envelope.type} v${envelope.version} of order ${envelope.orderId} cannot follow v${doc.version} of ${doc._id}`,
    );
  }
  const next: OrderViewDocument = {
    ...doc,
    version: envelope.version,
    updatedAt: occurredAt,
    lastEventId: envelope.eventId,
    lastPosition: envelope.position,
    positionKey: positionKeyOf(envelope.position),
  };

  switch (envelope.type) {
    case 'OrderPlaced':
      throw new OrderViewProjectionError(`order ${envelope.orderId} was already placed`);
    case 'OrderItemAdded': {
      const { line, itemCount, total } = envelope.data;
      const exists = doc.items.some((item) => item.sku === line.sku);
      // The event carries the line after the change, so an existing line is replaced in place.
      const items = exists
        ? doc.items.map((item) => (item.sku === line.sku ? copyLine(line) : item))
        : [...doc.items, copyLine(line)];
      return { ...next, items, itemCount, total };
    }
    case 'OrderItemRemoved': {
      const { line, itemCount, total } = envelope.data;
      return {
        ...next,
        items: doc.items.filter((item) => item.sku !== line.sku),
        itemCount,
        total,
      };
    }
    case 'OrderConfirmed': {
      const { items, itemCount, total } = envelope.data;
      return {
        ...next,
        status: 'confirmed',
        items: items.map(copyLine),
        itemCount,
        total,
        confirmedAt: occurredAt,
        dailyCounters: [
          ...doc.dailyCounters,
          dailyCounter(occurredAt, 'confirmed', 1),
          dailyCounter(occurredAt, 'revenue', total),
        ],
        productCounters: productCountersOf(doc.currency, items),
      };
    }
    case 'OrderPaid': {
      const { paymentId, amount } = envelope.data;
      return {
        ...next,
        status: 'paid',
        payment: { paymentId, amount, paidAt: occurredAt },
      };
    }
    case 'OrderShipped': {
      const { carrier, trackingNumber } = envelope.data;
      return {
        ...next,
        status: 'shipped',
        shipment: { carrier, trackingNumber, shippedAt: occurredAt },
      };
    }
    case 'OrderCancelled': {
      const { reason, previousStatus, items, total } = envelope.data;
      // Cancelling an order whose revenue was counted takes it off on the cancelling day.
      const revenueTakenOff =
        previousStatus === 'confirmed' || previousStatus === 'paid'
          ? [dailyCounter(occurredAt, 'revenue', -total)]
          : [];
      // The event states the lines the order held when cancelled; they are authoritative.
      return {
        ...next,
        status: 'cancelled',
        items: items.map(copyLine),
        itemCount: items.reduce((sum, item) => sum + item.quantity, 0),
        total,
        cancellation: { reason, cancelledAt: occurredAt, previousStatus },
        dailyCounters: [
          ...doc.dailyCounters,
          dailyCounter(occurredAt, 'cancelled', 1),
          ...revenueTakenOff,
        ],
        productCounters: [],
      };
    }
    default: {
      const unhandled: never = envelope;
      throw new OrderViewProjectionError(`unhandled event ${JSON.stringify(unhandled)}`);
    }
  }
}

function copyLine(line: OrderLine): OrderLine {
  return {
    sku: line.sku,
    quantity: line.quantity,
    unitPrice: line.unitPrice,
    lineTotal: line.lineTotal,
  };
}
