import type { OrderEvent } from '@orders/contracts';
import type { OrderCommand } from './order.commands';
import { decide, foldOrder } from './order.decider';
import { OrderRuleViolation, type OrderRuleCode } from './order.errors';

const lineA = { sku: 'A', quantity: 2, unitPrice: 150, lineTotal: 300 };
const orderData = {
  customerId: 'c-1',
  currency: 'EUR',
  items: [lineA],
  itemCount: 2,
  total: 300,
};
const placed: OrderEvent = { type: 'OrderPlaced', data: orderData };
const confirmed: OrderEvent = { type: 'OrderConfirmed', data: orderData };
const paid: OrderEvent = {
  type: 'OrderPaid',
  data: { paymentId: 'p-1', amount: 300, currency: 'EUR' },
};
const shipped: OrderEvent = {
  type: 'OrderShipped',
  data: { carrier: 'DHL', trackingNumber: 'T1' },
};

function given(events: OrderEvent[]) {
  const state = foldOrder(events);
  return {
    when: (command: OrderCommand) => ({
      then: (expected: OrderEvent[]) => expect(decide(command, state)).toEqual(expected),
      thenRefused: (code: OrderRuleCode) => {
        try {
          decide(command, state);
        } catch (error) {
          expect(error).toBeInstanceOf(OrderRuleViolation);
          expect((error as OrderRuleViolation).code).toBe(code);
          return;
        }
        throw new Error(`expected ${code}, but the command was accepted`);
      },
    }),
  };
}

describe('order decider', () => {
  describe('place', () => {
    it('places an order with its lines, totals and item count', () => {
      given([])
        .when({
          type: 'PlaceOrder',
          customerId: 'c-1',
          currency: 'EUR',
          items: [
            { sku: 'A', quantity: 2, unitPrice: 150 },
            { sku: 'B', quantity: 1, unitPrice: 0 },
          ],
        })
        .then([
          {
            type: 'OrderPlaced',
            data: {
              customerId: 'c-1',
              currency: 'EUR',
              items: [
                { sku: 'A', quantity: 2, unitPrice: 150, lineTotal: 300 },
                { sku: 'B', quantity: 1, unitPrice: 0, lineTotal: 0 },
              ],
              itemCount: 3,
              total: 300,
            },
          },
        ]);
    });
    it('places an empty draft', () => {
      given([])
        .when({
          type: 'PlaceOrder',
          customerId: 'c-1',
          currency: 'USD',
          items: [],
        })
        .then([
          {
            type: 'OrderPlaced',
            data: {
              customerId: 'c-1',
              currency: 'USD',
              items: [],
              itemCount: 0,
              total: 0,
            },
          },
        ]);
    });
    it('refuses to place an order twice', () => {
      given([placed])
        .when({
          type: 'PlaceOrder',
          customerId: 'c-1',
          currency: 'EUR',
          items: [],
        })
        .thenRefused('ORDER_ALREADY_EXISTS');
    });
  });

  it('refuses every other command on an order that does not exist', () => {
    given([]).when({ type: 'ConfirmOrder' }).thenRefused('ORDER_NOT_FOUND');
    given([]).when({ type: 'RemoveItem', sku: 'A' }).thenRefused('ORDER_NOT_FOUND');
  });

  describe('add item', () => {
    it('adds to the quantity of an existing line at the same price', () => {
      given([placed])
        .when({
          type: 'AddItem',
          line: { sku: 'A', quantity: 3, unitPrice: 150 },
        })
        .then([
          {
            type: 'OrderItemAdded',
            data: {
              sku: 'A',
              quantity: 3,
              unitPrice: 150,
              line: { sku: 'A', quantity: 5, unitPrice: 150, lineTotal: 750 },
              itemCount: 5,
              total: 750,
            },
          },
        ]);
    });
    it('refuses another unit price for a sku on the order', () => {
      given([placed])
        .when({
          type: 'AddItem',
          line: { sku: 'A', quantity: 1, unitPrice: 151 },
        })
        .thenRefused('LINE_PRICE_MISMATCH');
    });
    it('refuses more than 1000 units on a line', () => {
      given([placed])
        .when({
          type: 'AddItem',
          line: { sku: 'A', quantity: 999, unitPrice: 150 },
        })
        .thenRefused('LINE_QUANTITY_EXCEEDED');
    });
    it('refuses a 101st line', () => {
      const full: OrderEvent = {
        type: 'OrderPlaced',
        data: {
          customerId: 'c',
          currency: 'EUR',
          items: Array.from({ length: 100 }, (_, i) => ({
            sku: `S${i}`,
            quantity: 1,
            unitPrice: 1,
            lineTotal: 1,
          })),
          itemCount: 100,
          total: 100,
        },
      };
      given([full])
        .when({
          type: 'AddItem',
          line: { sku: 'NEW', quantity: 1, unitPrice: 1 },
        })
        .thenRefused('ORDER_LINES_EXCEEDED');
    });
    it('refuses changes once confirmed', () => {
      given([placed, confirmed])
        .when({
          type: 'AddItem',
          line: { sku: 'B', quantity: 1, unitPrice: 1 },
        })
        .thenRefused('ORDER_NOT_DRAFT');
    });
  });

  describe('remove item', () => {
    it('removes a line', () => {
      given([placed])
        .when({ type: 'RemoveItem', sku: 'A' })
        .then([
          {
            type: 'OrderItemRemoved',
            data: {
              line: { sku: 'A', quantity: 2, unitPrice: 150, lineTotal: 300 },
              itemCount: 0,
              total: 0,
            },
          },
        ]);
    });
    it('refuses a sku that is not on the order', () => {
      given([placed]).when({ type: 'RemoveItem', sku: 'Z' }).thenRefused('LINE_NOT_FOUND');
    });
  });

  describe('confirm', () => {
    it('confirms with the lines and total', () => {
      given([placed]).when({ type: 'ConfirmOrder' }).then([confirmed]);
    });
    it('refuses an empty order', () => {
      given([
        placed,
        {
          type: 'OrderItemRemoved',
          data: { line: lineA, itemCount: 0, total: 0 },
        },
      ])
        .when({ type: 'ConfirmOrder' })
        .thenRefused('ORDER_EMPTY');
    });
    it('refuses a second confirm', () => {
      given([placed, confirmed]).when({ type: 'ConfirmOrder' }).thenRefused('ORDER_NOT_DRAFT');
    });
  });

  describe('pay', () => {
    it('pays the exact total', () => {
      given([placed, confirmed])
        .when({ type: 'PayOrder', paymentId: 'p-1', amount: 300 })
        .then([paid]);
    });
    it('refuses another amount', () => {
      given([placed, confirmed])
        .when({ type: 'PayOrder', paymentId: 'p-1', amount: 299 })
        .thenRefused('PAYMENT_AMOUNT_MISMATCH');
    });
    it('refuses a draft', () => {
      given([placed])
        .when({ type: 'PayOrder', paymentId: 'p-1', amount: 300 })
        .thenRefused('ORDER_NOT_CONFIRMED');
    });
    it('treats the same payment again as a no-op, even after shipping', () => {
      given([placed, confirmed, paid])
        .when({ type: 'PayOrder', paymentId: 'p-1', amount: 300 })
        .then([]);
      given([placed, confirmed, paid, shipped])
        .when({ type: 'PayOrder', paymentId: 'p-1', amount: 300 })
        .then([]);
    });
    it('refuses another payment id', () => {
      given([placed, confirmed, paid])
        .when({ type: 'PayOrder', paymentId: 'p-2', amount: 300 })
        .thenRefused('PAYMENT_ALREADY_RECORDED');
    });
  });

  describe('ship', () => {
    it('ships a paid order', () => {
      given([placed, confirmed, paid])
        .when({ type: 'ShipOrder', carrier: 'DHL', trackingNumber: 'T1' })
        .then([shipped]);
    });
    it('refuses an unpaid order', () => {
      given([placed, confirmed])
        .when({ type: 'ShipOrder', carrier: 'DHL', trackingNumber: 'T1' })
        .thenRefused('ORDER_NOT_PAID');
    });
  });

  describe('cancel', () => {
    it('cancels a paid order, carrying the status it left and its lines', () => {
      given([placed, confirmed, paid])
        .when({ type: 'CancelOrder', reason: 'changed mind' })
        .then([
          {
            type: 'OrderCancelled',
            data: {
              reason: 'changed mind',
              previousStatus: 'paid',
              currency: 'EUR',
              items: [{ sku: 'A', quantity: 2, unitPrice: 150, lineTotal: 300 }],
              total: 300,
            },
          },
        ]);
    });
    it('refuses shipped and cancelled orders', () => {
      given([placed, confirmed, paid, shipped])
        .when({ type: 'CancelOrder', reason: 'x' })
        .thenRefused('ORDER_CLOSED');
      given([
        placed,
        {
          type: 'OrderCancelled',
          data: {
            reason: 'x',
            previousStatus: 'draft',
            currency: 'EUR',
            items: [],
            total: 0,
          },
        },
      ])
        .when({ type: 'CancelOrder', reason: 'x' })
        .thenRefused('ORDER_CLOSED');
    });
  });
});
