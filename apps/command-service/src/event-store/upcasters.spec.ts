import { orderEventSchemas } from '@orders/contracts';
import { upcastEvent } from './upcasters';

describe('upcastEvent', () => {
  it('lifts an OrderPlaced v1 to the current schema with its totals', () => {
    const v1 = {
      customerId: 'c-1',
      currency: 'EUR',
      items: [
        { sku: 'A', quantity: 2, unitPrice: 150, lineTotal: 300 },
        { sku: 'B', quantity: 1, unitPrice: 99, lineTotal: 99 },
      ],
    };
    const upcast = upcastEvent('OrderPlaced', 1, v1);
    expect(upcast).toEqual({
      schemaVersion: orderEventSchemas.OrderPlaced.schemaVersion,
      data: { ...v1, itemCount: 3, total: 399 },
    });
    expect(orderEventSchemas.OrderPlaced.data.safeParse(upcast.data).success).toBe(true);
  });

  it('passes current events through unchanged', () => {
    const data = { carrier: 'DHL', trackingNumber: 'T' };
    expect(upcastEvent('OrderShipped', 1, data)).toEqual({ schemaVersion: 1, data });
  });

  it('refuses stored data it cannot read rather than guessing', () => {
    expect(() => upcastEvent('OrderPlaced', 1, { customerId: 'c' })).toThrow();
    expect(() => upcastEvent('OrderRenamed', 1, {})).toThrow(/unknown type/);
  });
});
