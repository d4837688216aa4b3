import { describe, expect, it } from 'vitest';
import { KekDisabledError, KeyVaultUnavailableError } from '../../shared/errors.js';
import { loadConfigPart } from '../../shared/config/app-config.js';
import { RootKeyCache } from '../../shared/vault/root-key-cache.js';
import { ManualClock } from './support.js';

const isUnreachable = (err: unknown) => err instanceof KeyVaultUnavailableError;

describe('RootKeyCache', () => {
  it('serves a fresh entry without loading, and loads again after the TTL', async () => {
    const clock = new ManualClock();
    const cache = new RootKeyCache<string>({ clock, ttlMs: 300_000 });
    let loads = 0;
    const load = () => Promise.resolve(`v${++loads}`);
    expect(await cache.get('a', load)).toBe('v1');
    clock.advanceSeconds(299);
    expect(await cache.get('a', load)).toBe('v1');
    clock.advanceSeconds(1);
    expect(await cache.get('a', load)).toBe('v2');
  });

  it('shares one load between concurrent misses', async () => {
    const cache = new RootKeyCache<string>({ clock: new ManualClock(), ttlMs: 1000 });
    let loads = 0;
    const load = async () => {
      loads += 1;
      await new Promise((r) => setTimeout(r, 20));
      return 'k';
    };
    expect(await Promise.all(Array.from({ length: 10 }, () => cache.get('a', load)))).toEqual(Array(10).fill('k'));
    expect(loads).toBe(1);
  });

  it('serves a stale key only while the vault is unreachable, within the stale window', async () => {
    const clock = new ManualClock();
    const cache = new RootKeyCache<string>({ clock, ttlMs: 300_000, maxStaleMs: 600_000, isUnreachable });
    await cache.get('a', () => Promise.resolve('k'));
    clock.advanceSeconds(301);
    expect(await cache.get('a', () => Promise.reject(new KeyVaultUnavailableError()))).toBe('k');
    clock.advanceSeconds(600);
    await expect(cache.get('a', () => Promise.reject(new KeyVaultUnavailableError()))).rejects.toBeInstanceOf(KeyVaultUnavailableError);
  });

  it('never serves stale after a refusal, and forgets the key', async () => {
    const clock = new ManualClock();
    const cache = new RootKeyCache<string>({ clock, ttlMs: 300_000, maxStaleMs: 600_000, isUnreachable });
    await cache.get('a', () => Promise.resolve('k'));
    clock.advanceSeconds(301);
    await expect(cache.get('a', () => Promise.reject(new KekDisabledError()))).rejects.toBeInstanceOf(KekDisabledError);
    await expect(cache.get('a', () => Promise.reject(new KeyVaultUnavailableError()))).rejects.toBeInstanceOf(KeyVaultUnavailableError);
  });

  it('without a stale window, an unreachable vault fails after the TTL', async () => {
    const clock = new ManualClock();
    const cache = new RootKeyCache<string>({ clock, ttlMs: 300_000, isUnreachable });
    await cache.get('a', () => Promise.resolve('k'));
    clock.advanceSeconds(300);
    await expect(cache.get('a', () => Promise.reject(new KeyVaultUnavailableError()))).rejects.toBeInstanceOf(KeyVaultUnavailableError);
  });
});

describe("loadConfigPart('keyCache')", () => {
  it('defaults to a 300 s TTL and a 3600 s stale window', () => {
    expect(loadConfigPart('keyCache', {})).toEqual({ cacheTtlSeconds: 300, maxStaleSeconds: 3600 });
  });

  it('reads both settings', () => {
    expect(loadConfigPart('keyCache', { KEY_CACHE_TTL_SECONDS: '60', KEY_CACHE_MAX_STALE_SECONDS: '900' })).toEqual({ cacheTtlSeconds: 60, maxStaleSeconds: 900 });
  });

  it.each(['-1', 'abc', '1.5', '86401'])('refuses KEY_CACHE_TTL_SECONDS=%s', (value) => {
    expect(() => loadConfigPart('keyCache', { KEY_CACHE_TTL_SECONDS: value })).toThrow();
  });
});
