import type { OrderLine } from '@orders/contracts';

/*
 * What one order adds to the stats (contract §5). Each order's view carries its own entries,
 * written with the order's events and only by the order's single writer; the stats endpoints
 * sum them over all orders. So no counter document is ever shared between orders, and every
 * stats row is, by construction, a recount of the events.
 */

export const dailyCounterNames = ['placed', 'confirmed', 'cancelled', 'revenue'] as const;
export type DailyCounterName = (typeof dailyCounterNames)[number];

/** One contribution to `GET /stats/daily`: `value` added to `counter` of the UTC `day`. */
export interface DailyCounterEntry {
  /** `YYYY-MM-DD` (UTC). */
  day: string;
  /** `<day>/<counter>`: the one group key a FerretDB `$group` can use (see read-store docs). */
  key: string;
  value: number;
}

export const productCounterNames = ['unitsSold', 'revenue', 'orders'] as const;
export type ProductCounterName = (typeof productCounterNames)[number];

/** One contribution to `GET /stats/products`, keyed `<currency>/<sku>/<counter>`. */
export interface ProductCounterEntry {
  key: string;
  value: number;
}

/** The UTC calendar day of an instant, `YYYY-MM-DD`. */
export function utcDayOf(instant: Date): string {
  return instant.toISOString().slice(0, 10);
}

export function dailyCounter(
  instant: Date,
  counter: DailyCounterName,
  value: number,
): DailyCounterEntry {
  const day = utcDayOf(instant);
  return { day, key: `${day}/${counter}`, value };
}

/** Splits a key made by dailyCounter; null for anything else. */
export function parseDailyCounterKey(
  key: string,
): { day: string; counter: DailyCounterName } | null {
  const [day, counter, ...rest] = key.split('/');
  if (rest.length > 0 || day === undefined || !/^\d{4}-\d{2}-\d{2}$/.test(day)) return null;
  return (dailyCounterNames as readonly string[]).includes(counter ?? '')
    ? { day, counter: counter as DailyCounterName }
    : null;
}

/**
 * The lines of an order that counts in the product stats: units, revenue and one order per
 * sku (skus are unique within an order). `/` is in neither a currency nor a sku, so keys split
 * back unambiguously.
 */
export function productCountersOf(currency: string, lines: OrderLine[]): ProductCounterEntry[] {
  return lines.flatMap((line) => [
    { key: `${currency}/${line.sku}/unitsSold`, value: line.quantity },
    { key: `${currency}/${line.sku}/revenue`, value: line.lineTotal },
    { key: `${currency}/${line.sku}/orders`, value: 1 },
  ]);
}

export function parseProductCounterKey(
  key: string,
): { currency: string; sku: string; counter: ProductCounterName } | null {
  const [currency, sku, counter, ...rest] = key.split('/');
  if (rest.length > 0 || !currency || !sku) return null;
  return (productCounterNames as readonly string[]).includes(counter ?? '')
    ? { currency, sku, counter: counter as ProductCounterName }
    : null;
}
