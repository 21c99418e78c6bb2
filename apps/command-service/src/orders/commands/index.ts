import { AddItemHandler } from './add-item/add-item.handler';
import { CancelOrderHandler } from './cancel-order/cancel-order.handler';
import { ConfirmOrderHandler } from './confirm-order/confirm-order.handler';
import { PayOrderHandler } from './pay-order/pay-order.handler';
import { PlaceOrderHandler } from './place-order/place-order.handler';
import { RemoveItemHandler } from './remove-item/remove-item.handler';
import { ShipOrderHandler } from './ship-order/ship-order.handler';

export const orderCommandHandlers = [
  PlaceOrderHandler,
  AddItemHandler,
  RemoveItemHandler,
  ConfirmOrderHandler,
  PayOrderHandler,
  ShipOrderHandler,
  CancelOrderHandler,
];
