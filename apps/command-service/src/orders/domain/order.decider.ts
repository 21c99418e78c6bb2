import {
  MAX_LINES_PER_ORDER,
  MAX_UNITS_PER_LINE,
  type LineInput,
  type OrderEvent,
  type OrderLine,
} from '@orders/contracts';
import type { OrderCommand } from './order.commands';
import { OrderRuleViolation } from './order.errors';
import {
  initialOrderState,
  orderItemCount,
  orderTotal,
  type OrderState,
  type PlacedOrderState,
} from './order-state';

/** Decides which events a command produces on the given state, or throws OrderRuleViolation. */
export function decide(command: OrderCommand, state: OrderState): OrderEvent[] {
  if (command.type === 'PlaceOrder') {
    if (state.status !== 'absent') {
      throw new OrderRuleViolation('ORDER_ALREADY_EXISTS', 'an order with this id exists');
    }
    const items = command.items.map(toLine);
    return [
      {
        type: 'OrderPlaced',
        data: {
          customerId: command.customerId,
          currency: command.currency,
          items,
          itemCount: orderItemCount(items),
          total: orderTotal(items),
        },
      },
    ];
  }
  if (state.status === 'absent') {
    throw new OrderRuleViolation('ORDER_NOT_FOUND', 'no order with this id');
  }
  switch (command.type) {
    case 'AddItem':
      return addItem(state, command.line);
    case 'RemoveItem':
      return removeItem(state, command.sku);
    case 'ConfirmOrder':
      return confirm(state);
    case 'PayOrder':
      return pay(state, command.paymentId, command.amount);
    case 'ShipOrder':
      return ship(state, command.carrier, command.trackingNumber);
    case 'CancelOrder':
      return cancel(state, command.reason);
    default: {
      const unhandled: never = command;
      throw new Error(`unhandled command ${JSON.stringify(unhandled)}`);
    }
  }
}

function toLine(input: LineInput): OrderLine {
  return { ...input, lineTotal: input.quantity * input.unitPrice };
}

function requireDraft(state: PlacedOrderState): void {
  if (state.status !== 'draft') {
    throw new OrderRuleViolation('ORDER_NOT_DRAFT', `the order is ${state.status}, not draft`);
  }
}

function addItem(state: PlacedOrderState, input: LineInput): OrderEvent[] {
  requireDraft(state);
  const existing = state.lines.find((line) => line.sku === input.sku);
  if (existing && existing.unitPrice !== input.unitPrice) {
    throw new OrderRuleViolation(
      'LINE_PRICE_MISMATCH',
      `sku ${input.sku} is on the order at unit price ${existing.unitPrice}`,
    );
  }
  const quantity = (existing?.quantity ?? 0) + input.quantity;
  if (quantity > MAX_UNITS_PER_LINE) {
    throw new OrderRuleViolation(
      'LINE_QUANTITY_EXCEEDED',
      `a line holds at most ${MAX_UNITS_PER_LINE} units`,
    );
  }
  if (!existing && state.lines.length >= MAX_LINES_PER_ORDER) {
    throw new OrderRuleViolation(
      'ORDER_LINES_EXCEEDED',
      `an order holds at most ${MAX_LINES_PER_ORDER} lines`,
    );
  }
  const line = toLine({ sku: input.sku, quantity, unitPrice: input.unitPrice });
  const lines = existing
    ? state.lines.map((l) => (l.sku === input.sku ? line : l))
    : [...state.lines, line];
  return [
    {
      type: 'OrderItemAdded',
      data: {
        sku: input.sku,
        quantity: input.quantity,
        unitPrice: input.unitPrice,
        line,
        itemCount: orderItemCount(lines),
        total: orderTotal(lines),
      },
    },
  ];
}

function removeItem(state: PlacedOrderState, sku: string): OrderEvent[] {
  requireDraft(state);
  const line = state.lines.find((l) => l.sku === sku);
  if (!line) throw new OrderRuleViolation('LINE_NOT_FOUND', `sku ${sku} is not on the order`);
  const lines = state.lines.filter((l) => l.sku !== sku);
  return [
    {
      type: 'OrderItemRemoved',
      data: {
        line,
        itemCount: orderItemCount(lines),
        total: orderTotal(lines),
      },
    },
  ];
}

function confirm(state: PlacedOrderState): OrderEvent[] {
  requireDraft(state);
  if (state.lines.length === 0) {
    throw new OrderRuleViolation('ORDER_EMPTY', 'an order needs at least one line to confirm');
  }
  return [
    {
      type: 'OrderConfirmed',
      data: {
        customerId: state.customerId,
        currency: state.currency,
        items: state.lines,
        itemCount: orderItemCount(state.lines),
        total: orderTotal(state.lines),
      },
    },
  ];
}

function pay(state: PlacedOrderState, paymentId: string, amount: number): OrderEvent[] {
  if (state.payment) {
    if (state.payment.paymentId === paymentId && state.payment.amount === amount) return [];
    throw new OrderRuleViolation(
      'PAYMENT_ALREADY_RECORDED',
      'the order is paid already with another payment',
    );
  }
  if (state.status !== 'confirmed') {
    throw new OrderRuleViolation(
      'ORDER_NOT_CONFIRMED',
      `the order is ${state.status}, not confirmed`,
    );
  }
  const total = orderTotal(state.lines);
  if (amount !== total) {
    throw new OrderRuleViolation(
      'PAYMENT_AMOUNT_MISMATCH',
      `the amount must equal the order total ${total}`,
    );
  }
  return [
    {
      type: 'OrderPaid',
      data: { paymentId, amount, currency: state.currency },
    },
  ];
}

function ship(state: PlacedOrderState, carrier: string, trackingNumber: string): OrderEvent[] {
  if (state.status !== 'paid') {
    throw new OrderRuleViolation('ORDER_NOT_PAID', `the order is ${state.status}, not paid`);
  }
  return [{ type: 'OrderShipped', data: { carrier, trackingNumber } }];
}

function cancel(state: PlacedOrderState, reason: string): OrderEvent[] {
  if (state.status === 'shipped' || state.status === 'cancelled') {
    throw new OrderRuleViolation('ORDER_CLOSED', `a ${state.status} order cannot be cancelled`);
  }
  return [
    {
      type: 'OrderCancelled',
      data: {
        reason,
        previousStatus: state.status,
        currency: state.currency,
        items: state.lines,
        total: orderTotal(state.lines),
      },
    },
  ];
}

/** Folds one event into the state. */
export function evolve(state: OrderState, event: OrderEvent): OrderState {
  switch (event.type) {
    case 'OrderPlaced':
      return {
        status: 'draft',
        customerId: event.data.customerId,
        currency: event.data.currency,
        lines: event.data.items,
      };
    case 'OrderItemAdded':
      return withPlaced(state, (s) => ({
        ...s,
        lines: s.lines.some((l) => l.sku === event.data.sku)
          ? s.lines.map((l) => (l.sku === event.data.sku ? event.data.line : l))
          : [...s.lines, event.data.line],
      }));
    case 'OrderItemRemoved':
      return withPlaced(state, (s) => ({
        ...s,
        lines: s.lines.filter((l) => l.sku !== event.data.line.sku),
      }));
    case 'OrderConfirmed':
      return withPlaced(state, (s) => ({
        ...s,
        status: 'confirmed',
        lines: event.data.items,
      }));
    case 'OrderPaid':
      return withPlaced(state, (s) => ({
        ...s,
        status: 'paid',
        payment: { paymentId: event.data.paymentId, amount: event.data.amount },
      }));
    case 'OrderShipped':
      return withPlaced(state, (s) =>
        s.payment ? { ...s, status: 'shipped', payment: s.payment } : s,
      );
    case 'OrderCancelled':
      return withPlaced(state, (s) => ({ ...s, status: 'cancelled' }));
    default: {
      const unhandled: never = event;
      throw new Error(`unhandled event ${JSON.stringify(unhandled)}`);
    }
  }
}

function withPlaced(
  state: OrderState,
  change: (placed: PlacedOrderState) => OrderState,
): OrderState {
  if (state.status === 'absent') throw new Error('event for an order that was never placed');
  return change(state);
}

export function foldOrder(events: readonly OrderEvent[]): OrderState {
  return events.reduce(evolve, initialOrderState);
}
