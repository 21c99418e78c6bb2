import { z } from 'zod';

/** Identifier text allowed for `sku` and `customerId`: 1..64 of `A-Z a-z 0-9 _ - . :`. */
export const identifierSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1 to 64 characters of A-Z a-z 0-9 _ - . :');

export const orderIdSchema = z.uuid();
/** ISO 4217 shape: three capital letters. */
export const currencySchema = z.string().regex(/^[A-Z]{3}$/, 'must be three capital letters');
export const quantitySchema = z.int().min(1).max(1000);
/** Money in minor units (cents). */
export const unitPriceSchema = z.int().min(0).max(100_000_000);
export const moneySchema = z.int().min(0);

export const MAX_LINES_PER_ORDER = 100;
export const MAX_UNITS_PER_LINE = 1000;

export const orderStatusSchema = z.enum(['draft', 'confirmed', 'paid', 'shipped', 'cancelled']);
export type OrderStatus = z.infer<typeof orderStatusSchema>;

/** A line as a client sends it. */
export const lineInputSchema = z.strictObject({
  sku: identifierSchema,
  quantity: quantitySchema,
  unitPrice: unitPriceSchema,
});
export type LineInput = z.infer<typeof lineInputSchema>;

/** A line as events and read models carry it. */
export const orderLineSchema = z.strictObject({
  sku: identifierSchema,
  quantity: z.int().min(1).max(MAX_UNITS_PER_LINE),
  unitPrice: unitPriceSchema,
  lineTotal: moneySchema,
});
export type OrderLine = z.infer<typeof orderLineSchema>;
