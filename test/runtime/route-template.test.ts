import { describe, expect, it } from 'vitest';
import { byPrecedence, compileRoute } from '../../local/runtime/route-template.js';

describe('route templates', () => {
  it('binds parameters and matches literals case-insensitively', () => {
    const route = compileRoute('data/foundation/catalog/dataSets/{id}');
    expect(route.match('/data/foundation/catalog/datasets/abc')).toEqual({ id: 'abc' });
    expect(route.match('/data/foundation/catalog/dataSets')).toBeUndefined();
    expect(route.match('/data/foundation/catalog/dataSets/abc/extra')).toBeUndefined();
  });

  it('applies constraints', () => {
    const route = compileRoute('api-encryption/client-keys/{keyId:int}');
    expect(route.match('/api-encryption/client-keys/12')).toEqual({ keyId: '12' });
    expect(route.match('/api-encryption/client-keys/x')).toBeUndefined();
  });

  it('supports optional and catch-all last segments', () => {
    expect(compileRoute('a/{b?}').match('/a')).toEqual({});
    expect(compileRoute('a/{b?}').match('/a/x')).toEqual({ b: 'x' });
    expect(compileRoute('{*path}').match('/x/y/z')).toEqual({ path: 'x/y/z' });
    expect(() => compileRoute('{*path}/x')).toThrow(/last segment/);
  });

  it('decodes percent-encoded segments', () => {
    expect(compileRoute('keys/{name}').match('/keys/a%20b')).toEqual({ name: 'a b' });
  });

  it('orders literal routes before parameters and catch-alls', () => {
    const routes = ['{*path}', 'items/{id}', 'items/special'].map(compileRoute).sort(byPrecedence);
    expect(routes.map((r) => r.template)).toEqual(['items/special', 'items/{id}', '{*path}']);
  });
});
