import { z } from 'zod';

/*
 * Query-string values arrive as text (or, repeated, as arrays, which every schema here
 * refuses). Each becomes a typed value, so no client input ever reaches MongoDB as an object.
 */

/** A whole number written in plain decimal digits, within [min, max]. */
export const wholeNumberParam = (min: number, max: number) =>
  z
    .string()
    .regex(/^[0-9]{1,10}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.int().min(min).max(max));

/** An ISO-8601 instant with a zone (`Z` or an offset), e.g. `2026-11-27T10:00:00Z`. */
export const instantParam = z.iso
  .datetime({
    offset: true,
    error: 'must be an ISO-8601 date-time with a zone, e.g. 2026-11-27T10:00:00Z',
  })
  .transform((text) => new Date(text));

/** A calendar day `YYYY-MM-DD` that exists. */
export const utcDayParam = z.iso.date({ error: 'must be a date YYYY-MM-DD' });

/** An instant, or a day meaning its first (`from`) or last (`to`) millisecond in UTC. */
export const instantOrDayParam = (end: 'start' | 'end') =>
  z.union([
    instantParam,
    utcDayParam.transform((day) => {
      const start = new Date(`${day}T00:00:00.000Z`);
      return end === 'start' ? start : new Date(start.getTime() + 86_400_000 - 1);
    }),
  ]);

export const MS_PER_DAY = 86_400_000;
