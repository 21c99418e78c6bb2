import type { EventEnvelope } from '@orders/contracts';
import { OrderEventStream } from './order-event.stream';

/** A small deterministic PRNG (mulberry32), so a failing scenario can be replayed by seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ScenarioOptions {
  orders: number;
  seed: number;
  /** First UTC day events may fall on. */
  startDay: string;
  /** Orders are placed over this many days; their later events may run into the next ones. */
  days: number;
  currencies?: string[];
  customers?: number;
}

const SKUS = ['TEA', 'COFFEE', 'MUG', 'KETTLE', 'SPOON:steel', 'FILTER-100', 'BEANS.1kg', 'CUP_L'];

/**
 * Realistic order lives as the command service would commit them: placed with 0..3 lines,
 * lines added and removed, then left as a draft, or confirmed, paid, shipped, or cancelled
 * at any stage that allows it. Times are spread over days and cross UTC midnights.
 */
export function generateOrderLives(options: ScenarioOptions): EventEnvelope[][] {
  const random = seededRandom(options.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const currencies = options.currencies ?? ['EUR', 'USD', 'JPY'];
  const start = Date.parse(`${options.startDay}T00:00:00Z`);
  const lives: EventEnvelope[][] = [];
  for (let index = 0; index < options.orders; index += 1) {
    const stream = new OrderEventStream();
    const currency = pick(currencies);
    const priceOf = (sku: string) => (SKUS.indexOf(sku) + 1) * 125 + currencies.indexOf(currency);
    let clock = start + Math.floor(random() * options.days * 86_400_000);
    const at = (event: EventEnvelope): EventEnvelope => {
      const stamped = { ...event, occurredAt: new Date(clock).toISOString() };
      clock += Math.floor(random() * 10 * 3_600_000) + 1;
      return stamped;
    };
    const lines = new Set<string>();
    const initial = [
      ...new Set(Array.from({ length: Math.floor(random() * 4) }, () => pick(SKUS))),
    ];
    initial.forEach((sku) => lines.add(sku));
    const life = [
      at(
        stream.placed({
          customerId: `customer-${Math.floor(random() * (options.customers ?? 6))}`,
          currency,
          items: initial.map((sku) => ({
            sku,
            quantity: 1 + Math.floor(random() * 5),
            unitPrice: priceOf(sku),
          })),
        }),
      ),
    ];
    for (let changes = Math.floor(random() * 4); changes > 0; changes -= 1) {
      if (lines.size > 0 && random() < 0.3) {
        const sku = pick([...lines]);
        lines.delete(sku);
        life.push(at(stream.itemRemoved(sku)));
      } else {
        const sku = pick(SKUS);
        lines.add(sku);
        life.push(at(stream.itemAdded(sku, 1 + Math.floor(random() * 3), priceOf(sku))));
      }
    }
    const fate = random();
    if (fate < 0.15) {
      lives.push(life);
      continue;
    }
    if (fate < 0.25) {
      life.push(at(stream.cancelled('changed my mind')));
      lives.push(life);
      continue;
    }
    if (lines.size === 0) {
      const sku = pick(SKUS);
      life.push(at(stream.itemAdded(sku, 1, priceOf(sku))));
    }
    life.push(at(stream.confirmed()));
    if (random() < 0.15) life.push(at(stream.cancelled('out of stock')));
    else if (random() < 0.8) {
      life.push(at(stream.paid(`pay-${index}`)));
      if (random() < 0.1) life.push(at(stream.cancelled('fraud check')));
      else if (random() < 0.7) life.push(at(stream.shipped('DHL', `TRACK-${index}`)));
    }
    lives.push(life);
  }
  return lives;
}

/**
 * The order the relay might deliver them in, and worse: interleaved across orders, with
 * `duplicates` of each event republished later and `swaps` of neighbouring events of one
 * order (so a later version arrives first and must wait for its predecessor).
 */
export function deliveryOrderOf(
  lives: EventEnvelope[][],
  { seed, duplicates, swaps }: { seed: number; duplicates: number; swaps: number },
): EventEnvelope[] {
  const random = seededRandom(seed);
  const queues = lives.map((life) => [...life]);
  const delivered: EventEnvelope[] = [];
  while (queues.some((queue) => queue.length > 0)) {
    const open = queues.filter((queue) => queue.length > 0);
    const queue = open[Math.floor(random() * open.length)]!;
    if (queue.length > 1 && random() < swaps) [queue[0], queue[1]] = [queue[1]!, queue[0]!];
    delivered.push(queue.shift()!);
  }
  // Copies go anywhere after the original, up to 50 messages later.
  for (let index = delivered.length - 1; index >= 0; index -= 1) {
    if (random() >= duplicates) continue;
    const at = index + 1 + Math.floor(random() * Math.min(50, delivered.length - index));
    delivered.splice(at, 0, delivered[index]!);
  }
  return delivered;
}
