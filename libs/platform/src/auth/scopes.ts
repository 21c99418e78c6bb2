import { Reflector } from '@nestjs/core';

/** The scopes of contract §7. */
export const ORDER_SCOPES = {
  read: 'orders:read',
  write: 'orders:write',
  admin: 'orders:admin',
} as const;
export type OrderScope = (typeof ORDER_SCOPES)[keyof typeof ORDER_SCOPES];

/**
 * The scope a controller or route needs, overriding the service's default
 * (`orders:write` on the command service, `orders:read` on the query service).
 */
export const RequireScope = Reflector.createDecorator<OrderScope>();

/** Routes under /admin need `orders:admin` even when their controller forgets to say so. */
export function requiredScope(
  declared: OrderScope | undefined,
  path: string,
  serviceDefault: OrderScope,
): OrderScope {
  if (declared) return declared;
  if (path === '/admin' || path.startsWith('/admin/')) return ORDER_SCOPES.admin;
  return serviceDefault;
}

/** Scopes of a token: the space-separated `scope` claim (RFC 8693) or an `scp` array or string. */
export function scopesOf(claims: { [claim: string]: unknown }): Set<string> {
  const scopes = new Set<string>();
  for (const claim of [claims['scope'], claims['scp']]) {
    const values = typeof claim === 'string' ? claim.split(' ') : Array.isArray(claim) ? claim : [];
    for (const value of values) if (typeof value === 'string' && value !== '') scopes.add(value);
  }
  return scopes;
}
