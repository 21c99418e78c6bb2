import {
  dailyCounter,
  parseDailyCounterKey,
  parseProductCounterKey,
  productCountersOf,
  utcDayOf,
} from './order-stats.counters';

describe('stats counter keys', () => {
  it('puts an instant on its UTC day', () => {
    expect(utcDayOf(new Date('2026-12-31T23:59:59.999-01:00'))).toBe('2027-01-01');
    expect(utcDayOf(new Date('2026-03-01T00:00:00.000Z'))).toBe('2026-03-01');
  });

  it('splits daily keys back into day and counter', () => {
    const entry = dailyCounter(new Date('2026-11-27T12:00:00Z'), 'revenue', -50);
    expect(entry).toEqual({ day: '2026-11-27', key: '2026-11-27/revenue', value: -50 });
    expect(parseDailyCounterKey(entry.key)).toEqual({ day: '2026-11-27', counter: 'revenue' });
    for (const bad of ['2026-11-27', '2026-11-27/profit', 'x/placed', '2026-11-27/placed/1']) {
      expect(parseDailyCounterKey(bad)).toBeNull();
    }
  });

  it('splits product keys back even for skus with : . - _', () => {
    const [units, revenue, orders] = productCountersOf('USD', [
      { sku: 'A:b.c-d_e', quantity: 3, unitPrice: 7, lineTotal: 21 },
    ]);
    expect([units, revenue, orders]).toEqual([
      { key: 'USD/A:b.c-d_e/unitsSold', value: 3 },
      { key: 'USD/A:b.c-d_e/revenue', value: 21 },
      { key: 'USD/A:b.c-d_e/orders', value: 1 },
    ]);
    expect(parseProductCounterKey(units!.key)).toEqual({
      currency: 'USD',
      sku: 'A:b.c-d_e',
      counter: 'unitsSold',
    });
    for (const bad of ['USD/A', 'USD/A/units', '/A/orders', 'USD//orders', 'USD/A/orders/x']) {
      expect(parseProductCounterKey(bad)).toBeNull();
    }
  });
});
