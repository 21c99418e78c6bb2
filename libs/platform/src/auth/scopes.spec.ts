import { ORDER_SCOPES, requiredScope, scopesOf } from './scopes';

describe('scopes', () => {
  it('reads the space-separated scope claim and the scp array or string', () => {
    expect(scopesOf({ scope: 'orders:read  orders:write' })).toEqual(
      new Set(['orders:read', 'orders:write']),
    );
    expect(scopesOf({ scp: ['orders:admin', 42] })).toEqual(new Set(['orders:admin']));
    expect(scopesOf({ scp: 'orders:read' })).toEqual(new Set(['orders:read']));
    expect(scopesOf({ scope: 17 })).toEqual(new Set());
  });

  it('needs the declared scope, else admin under /admin, else the service default', () => {
    expect(requiredScope(ORDER_SCOPES.read, '/events', ORDER_SCOPES.write)).toBe('orders:read');
    expect(requiredScope(undefined, '/admin/dead-letters', ORDER_SCOPES.read)).toBe('orders:admin');
    expect(requiredScope(undefined, '/administrators', ORDER_SCOPES.read)).toBe('orders:read');
    expect(requiredScope(undefined, '/orders/1', ORDER_SCOPES.write)).toBe('orders:write');
  });
});
