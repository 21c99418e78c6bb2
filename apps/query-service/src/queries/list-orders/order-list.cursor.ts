import { createHash } from 'node:crypto';

/** Where the next page starts: after this (placedAt, orderId) in the list's order. */
export interface OrderListPosition {
  placedAt: Date;
  orderId: string;
}

/** The filters a cursor was issued for; a cursor is only valid with the same ones. */
export interface OrderListFilters {
  customerId?: string | undefined;
  status?: string | undefined;
  placedFrom?: Date | undefined;
  placedTo?: Date | undefined;
}

const CURSOR_VERSION = 1;

export function filtersFingerprint(filters: OrderListFilters): string {
  const canonical = JSON.stringify([
    filters.customerId ?? null,
    filters.status ?? null,
    filters.placedFrom?.getTime() ?? null,
    filters.placedTo?.getTime() ?? null,
  ]);
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 12);
}

/** Opaque to clients: base64url of the last item's sort key and the filters' fingerprint. */
export function encodeOrderListCursor(
  position: OrderListPosition,
  filters: OrderListFilters,
): string {
  return Buffer.from(
    JSON.stringify([
      CURSOR_VERSION,
      position.placedAt.getTime(),
      position.orderId,
      filtersFingerprint(filters),
    ]),
  ).toString('base64url');
}

/** Null for anything this service did not issue. */
export function decodeOrderListCursor(
  text: string,
): { position: OrderListPosition; fingerprint: string } | null {
  if (text.length > 200 || !/^[A-Za-z0-9_-]+$/.test(text)) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 4 || value[0] !== CURSOR_VERSION) return null;
    const [, placedAtMs, orderId, fingerprint] = value as unknown[];
    if (typeof placedAtMs !== 'number' || !Number.isSafeInteger(placedAtMs)) return null;
    if (typeof orderId !== 'string' || !/^[0-9a-f-]{36}$/.test(orderId)) return null;
    if (typeof fingerprint !== 'string' || !/^[A-Za-z0-9_-]{12}$/.test(fingerprint)) return null;
    return { position: { placedAt: new Date(placedAtMs), orderId }, fingerprint };
  } catch {
    return null;
  }
}
