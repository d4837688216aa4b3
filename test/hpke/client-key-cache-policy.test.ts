import { describe, expect, it } from 'vitest';
import { CLIENT_KEY_CACHE_MS, createClientKeyCache } from '../../shared/hpke/client-key-cache.js';

// The cache's policy on its own; client-key-cache.test.ts runs it under resolveClientKey on Azurite.

const T0 = Date.parse('2030-01-01T00:00:00Z');

describe('client key cache', () => {
  const load = (value: string, changesAt?: number) => () => Promise.resolve({ value, ...(changesAt === undefined ? {} : { changesAt }) });

  it('answers from memory until CLIENT_KEY_CACHE_MS has passed, then reads again', async () => {
    const cache = createClientKeyCache<string>();
    expect(await cache.get('o', 1, T0, load('a'))).toBe('a');
    expect(await cache.get('o', 1, T0 + CLIENT_KEY_CACHE_MS - 1, load('b'))).toBe('a');
    expect(await cache.get('o', 1, T0 + CLIENT_KEY_CACHE_MS, load('c'))).toBe('c');
  });

  it('reads again at the time the answer changes (a pending key taking over), however soon', async () => {
    const cache = createClientKeyCache<string>();
    expect(await cache.get('o', undefined, T0, load('old', T0 + 100))).toBe('old');
    expect(await cache.get('o', undefined, T0 + 99, load('x'))).toBe('old');
    expect(await cache.get('o', undefined, T0 + 100, load('new'))).toBe('new');
  });

  it('keeps orgs and key ids apart, and drops only the invalidated org', async () => {
    const cache = createClientKeyCache<string>();
    await cache.get('o', 1, T0, load('o1'));
    await cache.get('o', undefined, T0, load('o-newest'));
    await cache.get('p', 1, T0, load('p1'));
    cache.invalidate('o');
    expect(await cache.get('o', 1, T0, load('o1 again'))).toBe('o1 again');
    expect(await cache.get('o', undefined, T0, load('o-newest again'))).toBe('o-newest again');
    expect(await cache.get('p', 1, T0, load('p1 again'))).toBe('p1');
  });

  it('shares one read among concurrent misses and keeps no failure', async () => {
    const cache = createClientKeyCache<string>();
    let reads = 0;
    const slow = () => {
      reads++;
      return new Promise<{ value: string }>((resolve) => setTimeout(() => resolve({ value: 'v' }), 10));
    };
    expect(await Promise.all([cache.get('o', 1, T0, slow), cache.get('o', 1, T0, slow)])).toEqual(['v', 'v']);
    expect(reads).toBe(1);
    await expect(cache.get('q', 1, T0, () => Promise.reject(new Error('no key')))).rejects.toThrow('no key');
    expect(await cache.get('q', 1, T0, load('found'))).toBe('found');
  });
});
