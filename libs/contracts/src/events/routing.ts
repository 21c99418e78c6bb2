import type { OrderEventType } from './order-events';

export const ORDERS_EVENTS_EXCHANGE = 'orders.events';
export const ORDERS_COMMANDS_QUEUE = 'orders.commands';
export const PAYMENTS_EVENTS_EXCHANGE = 'payments.events';
export const PAYMENT_SUCCEEDED_ROUTING_KEY = 'payment.succeeded';
/** AMQP header that carries the order id, so consumers can partition or route by order. */
export const ORDER_ID_HEADER = 'order-id';

const routingKeys: Record<OrderEventType, string> = {
  OrderPlaced: 'order.placed',
  OrderItemAdded: 'order.item-added',
  OrderItemRemoved: 'order.item-removed',
  OrderConfirmed: 'order.confirmed',
  OrderPaid: 'order.paid',
  OrderShipped: 'order.shipped',
  OrderCancelled: 'order.cancelled',
};

export function routingKeyOf(type: OrderEventType): string {
  return routingKeys[type];
}
