import {
  orderEventSchemas,
  type EventEnvelope,
  type OrderEvent,
  type OrderLine,
  type OrderStatus,
} from '@orders/contracts';
import { randomUUID } from 'node:crypto';

let lastPosition = BigInt(Date.now()) * 1000n;

/**
 * Builds the valid envelopes of one order, as the command service would commit them:
 * versions 1, 2, 3, ... and the running totals each event carries.
 */
export class OrderEventStream {
  readonly orderId: string;
  private version = 0;
  private status: OrderStatus = 'draft';
  private lines: OrderLine[] = [];
  private customerId = 'customer-1';
  private currency = 'EUR';

  constructor(orderId: string = randomUUID()) {
    this.orderId = orderId;
  }

  get total(): number {
    return this.lines.reduce((sum, line) => sum + line.lineTotal, 0);
  }

  get itemCount(): number {
    return this.lines.reduce((sum, line) => sum + line.quantity, 0);
  }

  placed(
    input: { customerId?: string; currency?: string; items?: Omit<OrderLine, 'lineTotal'>[] } = {},
  ): EventEnvelope {
    this.customerId = input.customerId ?? this.customerId;
    this.currency = input.currency ?? this.currency;
    this.lines = (input.items ?? []).map((item) => ({
      ...item,
      lineTotal: item.quantity * item.unitPrice,
    }));
    return this.next({
      type: 'OrderPlaced',
      data: {
        customerId: this.customerId,
        currency: this.currency,
        items: this.copyLines(),
        itemCount: this.itemCount,
        total: this.total,
      },
    });
  }

  itemAdded(sku: string, quantity: number, unitPrice: number): EventEnvelope {
    const existing = this.lines.find((line) => line.sku === sku);
    const newQuantity = (existing?.quantity ?? 0) + quantity;
    const line: OrderLine = {
      sku,
      quantity: newQuantity,
      unitPrice,
      lineTotal: newQuantity * unitPrice,
    };
    this.lines = existing
      ? this.lines.map((current) => (current.sku === sku ? line : current))
      : [...this.lines, line];
    return this.next({
      type: 'OrderItemAdded',
      data: {
        sku,
        quantity,
        unitPrice,
        line: { ...line },
        itemCount: this.itemCount,
        total: this.total,
      },
    });
  }

  itemRemoved(sku: string): EventEnvelope {
    const line = this.lines.find((current) => current.sku === sku);
    if (!line) throw new Error(`no line ${sku}`);
    this.lines = this.lines.filter((current) => current.sku !== sku);
    return this.next({
      type: 'OrderItemRemoved',
      data: { line: { ...line }, itemCount: this.itemCount, total: this.total },
    });
  }

  confirmed(): EventEnvelope {
    this.status = 'confirmed';
    return this.next({
      type: 'OrderConfirmed',
      data: {
        customerId: this.customerId,
        currency: this.currency,
        items: this.copyLines(),
        itemCount: this.itemCount,
        total: this.total,
      },
    });
  }

  paid(paymentId: string): EventEnvelope {
    this.status = 'paid';
    return this.next({
      type: 'OrderPaid',
      data: { paymentId, amount: this.total, currency: this.currency },
    });
  }

  shipped(carrier: string, trackingNumber: string): EventEnvelope {
    this.status = 'shipped';
    return this.next({ type: 'OrderShipped', data: { carrier, trackingNumber } });
  }

  cancelled(reason: string): EventEnvelope {
    const previousStatus = this.status;
    if (previousStatus === 'cancelled' || previousStatus === 'shipped') {
      throw new Error(`cannot cancel a ${previousStatus} order`);
    }
    this.status = 'cancelled';
    return this.next({
      type: 'OrderCancelled',
      data: {
        reason,
        previousStatus,
        currency: this.currency,
        items: this.copyLines(),
        total: this.total,
      },
    });
  }

  private next(event: OrderEvent): EventEnvelope {
    this.version += 1;
    lastPosition += 1n;
    return {
      eventId: randomUUID(),
      schemaVersion: orderEventSchemas[event.type].schemaVersion,
      orderId: this.orderId,
      version: this.version,
      position: lastPosition.toString(),
      occurredAt: new Date().toISOString(),
      correlationId: `test-${this.orderId}`,
      causationId: `test-${this.orderId}-${this.version}`,
      ...event,
    };
  }

  private copyLines(): OrderLine[] {
    return this.lines.map((line) => ({ ...line }));
  }
}
