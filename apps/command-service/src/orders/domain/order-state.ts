import type { OrderLine, OrderStatus } from '@orders/contracts';

interface PlacedOrder {
  customerId: string;
  currency: string;
  lines: OrderLine[];
  payment?: { paymentId: string; amount: number };
}

/** An order's state, folded from its events. `absent` is an order that was never placed. */
export type OrderState =
  | { status: 'absent' }
  | (PlacedOrder & { status: Exclude<OrderStatus, 'paid' | 'shipped'> })
  | (PlacedOrder & {
      status: 'paid' | 'shipped';
      payment: { paymentId: string; amount: number };
    });

export type PlacedOrderState = Exclude<OrderState, { status: 'absent' }>;

export const initialOrderState: OrderState = { status: 'absent' };

export function orderTotal(lines: readonly OrderLine[]): number {
  return lines.reduce((sum, line) => sum + line.lineTotal, 0);
}

export function orderItemCount(lines: readonly OrderLine[]): number {
  return lines.reduce((sum, line) => sum + line.quantity, 0);
}
