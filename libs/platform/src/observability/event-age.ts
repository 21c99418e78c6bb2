/**
 * Buckets, in seconds, for how old an event is when a step of its pipeline (publish, projection)
 * is done with it: a few milliseconds when caught up, minutes when catching up after an outage.
 */
export const EVENT_AGE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];

/** Seconds since the event occurred (its `occurredAt`, in epoch milliseconds); never negative. */
export function eventAgeSeconds(occurredAtMs: number, now = Date.now()): number {
  return Math.max(0, now - occurredAtMs) / 1000;
}
