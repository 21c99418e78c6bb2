import {
  decodeOrderListCursor,
  encodeOrderListCursor,
  filtersFingerprint,
} from './order-list.cursor';

describe('order list cursor', () => {
  const position = {
    placedAt: new Date('2026-11-27T10:00:00.123Z'),
    orderId: '6f1c2d4e-8a9b-4c3d-9e2f-1a2b3c4d5e6f',
  };

  it('round-trips the position and binds the filters', () => {
    const filters = { customerId: 'c-1', status: 'paid' };
    const cursor = encodeOrderListCursor(position, filters);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeOrderListCursor(cursor)).toEqual({
      position,
      fingerprint: filtersFingerprint(filters),
    });
    expect(filtersFingerprint(filters)).not.toBe(filtersFingerprint({ customerId: 'c-1' }));
    expect(filtersFingerprint({ placedFrom: new Date(0) })).not.toBe(
      filtersFingerprint({ placedTo: new Date(0) }),
    );
  });

  it('refuses anything it did not issue', () => {
    const forged = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const text of [
      '',
      'not a cursor!',
      forged([2, 0, position.orderId, 'abcdefghijkl']),
      forged([1, '0', position.orderId, 'abcdefghijkl']),
      forged([1, 0, { $gt: '' }, 'abcdefghijkl']),
      forged({ placedAt: 0 }),
      'x'.repeat(300),
    ]) {
      expect(decodeOrderListCursor(text)).toBeNull();
    }
  });
});
