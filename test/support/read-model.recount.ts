import type { EventEnvelope, OrderLine, OrderStatus } from '@orders/contracts';

/*
 * What the read models must hold, recounted straight from the events, written independently
 * of the query service's projection code so a shared mistake cannot hide.
 */

export interface ExpectedOrderView {
  orderId: string;
  customerId: string;
  status: OrderStatus;
  currency: string;
  items: OrderLine[];
  itemCount: number;
  total: number;
  payment?: { paymentId: string; amount: number; paidAt: string };
  shipment?: { carrier: string; trackingNumber: string; shippedAt: string };
  cancellation?: { reason: string; cancelledAt: string; previousStatus: string };
  placedAt: string;
  confirmedAt?: string;
  updatedAt: string;
  version: number;
}

const iso = (text: string) => new Date(text).toISOString();

/** The OrderView after an order's events (ascending versions, no duplicates). */
export function expectedOrderView(events: EventEnvelope[]): ExpectedOrderView | null {
  let view: ExpectedOrderView | null = null;
  for (const event of events) {
    const at = iso(event.occurredAt);
    if (event.type === 'OrderPlaced') {
      view = {
        orderId: event.orderId.toLowerCase(),
        customerId: event.data.customerId,
        status: 'draft',
        currency: event.data.currency,
        items: event.data.items.map((line) => ({ ...line })),
        itemCount: event.data.itemCount,
        total: event.data.total,
        placedAt: at,
        updatedAt: at,
        version: 1,
      };
      continue;
    }
    if (view === null) throw new Error(`${event.type} before OrderPlaced`);
    view = { ...view, version: event.version, updatedAt: at };
    switch (event.type) {
      case 'OrderItemAdded': {
        const { line } = event.data;
        const index = view.items.findIndex((item) => item.sku === line.sku);
        view.items =
          index < 0
            ? [...view.items, { ...line }]
            : view.items.map((item, i) => (i === index ? { ...line } : item));
        view.itemCount = sumQuantities(view.items);
        view.total = sumLineTotals(view.items);
        break;
      }
      case 'OrderItemRemoved':
        view.items = view.items.filter((item) => item.sku !== event.data.line.sku);
        view.itemCount = sumQuantities(view.items);
        view.total = sumLineTotals(view.items);
        break;
      case 'OrderConfirmed':
        view.status = 'confirmed';
        view.confirmedAt = at;
        break;
      case 'OrderPaid':
        view.status = 'paid';
        view.payment = { paymentId: event.data.paymentId, amount: event.data.amount, paidAt: at };
        break;
      case 'OrderShipped':
        view.status = 'shipped';
        view.shipment = {
          carrier: event.data.carrier,
          trackingNumber: event.data.trackingNumber,
          shippedAt: at,
        };
        break;
      case 'OrderCancelled':
        view.status = 'cancelled';
        view.cancellation = {
          reason: event.data.reason,
          cancelledAt: at,
          previousStatus: event.data.previousStatus,
        };
        break;
      default:
        throw new Error(`unexpected event ${(event as EventEnvelope).type}`);
    }
  }
  return view;
}

export function expectedHistory(events: EventEnvelope[]) {
  return events.map((event) => ({
    version: event.version,
    type: event.type,
    occurredAt: iso(event.occurredAt),
    data: event.data,
    correlationId: event.correlationId,
  }));
}

/** Groups events by order (lower-case id), each ascending by version, duplicates dropped. */
export function eventsByOrder(events: EventEnvelope[]): Map<string, EventEnvelope[]> {
  const byOrder = new Map<string, Map<number, EventEnvelope>>();
  for (const event of events) {
    const id = event.orderId.toLowerCase();
    let versions = byOrder.get(id);
    if (!versions) byOrder.set(id, (versions = new Map<number, EventEnvelope>()));
    versions.set(event.version, event);
  }
  return new Map(
    [...byOrder].map(([id, versions]) => [
      id,
      [...versions.values()].sort((a, b) => a.version - b.version),
    ]),
  );
}

export interface ProductStatsRow {
  sku: string;
  currency: string;
  unitsSold: number;
  revenue: number;
  orders: number;
}

/** §5: lines of orders now confirmed, paid or shipped, per sku and currency. */
export function recountProductStats(
  byOrder: Map<string, EventEnvelope[]>,
  {
    currency,
    sortBy,
    limit,
  }: { currency?: string; sortBy: 'revenue' | 'unitsSold'; limit: number },
): ProductStatsRow[] {
  const rows = new Map<string, ProductStatsRow>();
  for (const events of byOrder.values()) {
    const view = expectedOrderView(events);
    if (!view || !['confirmed', 'paid', 'shipped'].includes(view.status)) continue;
    if (currency !== undefined && view.currency !== currency) continue;
    const confirmed = events.find((event) => event.type === 'OrderConfirmed');
    if (confirmed?.type !== 'OrderConfirmed') throw new Error('counted order never confirmed');
    for (const line of confirmed.data.items) {
      const key = `${view.currency} ${line.sku}`;
      const row = rows.get(key) ?? {
        sku: line.sku,
        currency: view.currency,
        unitsSold: 0,
        revenue: 0,
        orders: 0,
      };
      row.unitsSold += line.quantity;
      row.revenue += line.lineTotal;
      row.orders += 1;
      rows.set(key, row);
    }
  }
  return [...rows.values()]
    .sort(
      (a, b) =>
        b[sortBy] - a[sortBy] ||
        (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0) ||
        (a.currency < b.currency ? -1 : a.currency > b.currency ? 1 : 0),
    )
    .slice(0, limit);
}

export interface DailyStatsRow {
  date: string;
  ordersPlaced: number;
  ordersConfirmed: number;
  ordersCancelled: number;
  revenue: number;
}

/** §5: per UTC day of the events, every day in [from, to] present. */
export function recountDailyStats(
  byOrder: Map<string, EventEnvelope[]>,
  currency: string,
  from: string,
  to: string,
): DailyStatsRow[] {
  const rows = new Map<string, DailyStatsRow>();
  for (let day = new Date(`${from}T00:00:00Z`); day <= new Date(`${to}T00:00:00Z`);) {
    const date = day.toISOString().slice(0, 10);
    rows.set(date, { date, ordersPlaced: 0, ordersConfirmed: 0, ordersCancelled: 0, revenue: 0 });
    day = new Date(day.getTime() + 86_400_000);
  }
  for (const events of byOrder.values()) {
    const placed = events[0];
    if (placed?.type !== 'OrderPlaced' || placed.data.currency !== currency) continue;
    for (const event of events) {
      const row = rows.get(iso(event.occurredAt).slice(0, 10));
      if (!row) continue;
      if (event.type === 'OrderPlaced') row.ordersPlaced += 1;
      if (event.type === 'OrderConfirmed') {
        row.ordersConfirmed += 1;
        row.revenue += event.data.total;
      }
      if (event.type === 'OrderCancelled') {
        row.ordersCancelled += 1;
        if (['confirmed', 'paid'].includes(event.data.previousStatus))
          row.revenue -= event.data.total;
      }
    }
  }
  return [...rows.values()];
}

/** The list order of §5: placedAt descending, then orderId descending. */
export function listOrder(a: ExpectedOrderView, b: ExpectedOrderView): number {
  if (a.placedAt !== b.placedAt) return a.placedAt < b.placedAt ? 1 : -1;
  return a.orderId < b.orderId ? 1 : a.orderId > b.orderId ? -1 : 0;
}

function sumQuantities(lines: OrderLine[]): number {
  return lines.reduce((sum, line) => sum + line.quantity, 0);
}

function sumLineTotals(lines: OrderLine[]): number {
  return lines.reduce((sum, line) => sum + line.lineTotal, 0);
}
