import type { OrderViewDocument } from '../projections/order-view.document';
import { ViewCache } from './view-cache';

const view = (id: string, version = 1) => ({ _id: id, version }) as OrderViewDocument;

describe('ViewCache', () => {
  it('keeps the latest view per order and evicts the least recently used', () => {
    const cache = new ViewCache(2);
    cache.set(view('a'));
    cache.set(view('b'));
    expect(cache.get('a')).toEqual(view('a'));
    cache.set(view('c'));
    expect(cache.get('b')).toBeUndefined();
    cache.set(view('a', 2));
    expect(cache.get('a')?.version).toBe(2);
    cache.forget('a');
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('c')).toEqual(view('c'));
  });
});
