import type { Clock } from '../core/clock.js';

export interface RootKeyCacheOptions {
  readonly clock: Clock;
  /** How long an unwrapped key is used without asking the vault again (`KEY_CACHE_TTL_SECONDS`). */
  readonly ttlMs: number;
  /**
   * How much longer past the TTL a key may still be served, and only while `isUnreachable` says
   * the vault could not be asked (`KEY_CACHE_MAX_STALE_SECONDS`); 0 (default) never serves stale.
   */
  readonly maxStaleMs?: number;
  /** True for failures that mean "the vault was unreachable", never for a refusal. */
  readonly isUnreachable?: (err: unknown) => boolean;
}

interface Entry<V> {
  readonly value: V;
  readonly loadedAt: number;
}

/**
 * In-memory cache of unwrapped root keys with a TTL, one load in flight per key (concurrent misses
 * share it), and an optional stale window used only when the vault is unreachable. A refusal
 * evicts the entry at once, so a disabled or revoked KEK is honoured within the TTL.
 */
export class RootKeyCache<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #loading = new Map<string, Promise<V>>();
  readonly #options: RootKeyCacheOptions;

  constructor(options: RootKeyCacheOptions) {
    if (!(options.ttlMs >= 0) || !((options.maxStaleMs ?? 0) >= 0)) throw new RangeError('Cache durations must be ≥ 0');
    this.#options = options;
  }

  /** The cached value if fresh, otherwise `load()`'s (shared with concurrent callers). */
  async get(id: string, load: () => Promise<V>): Promise<V> {
    const { clock, ttlMs } = this.#options;
    const entry = this.#entries.get(id);
    if (entry !== undefined && clock.now() - entry.loadedAt < ttlMs) return entry.value;
    let pending = this.#loading.get(id);
    if (pending === undefined) {
      pending = load().then((value) => {
        this.#entries.set(id, { value, loadedAt: clock.now() });
        return value;
      });
      const done = (): void => void this.#loading.delete(id);
      pending.then(done, done);
      this.#loading.set(id, pending);
    }
    try {
      return await pending;
    } catch (err) {
      const stale = this.#entries.get(id);
      const maxStaleMs = this.#options.maxStaleMs ?? 0;
      if (stale !== undefined && this.#options.isUnreachable?.(err) === true && clock.now() - stale.loadedAt < ttlMs + maxStaleMs) {
        return stale.value;
      }
      this.#entries.delete(id);
      throw err;
    }
  }

  /** Forgets one key (e.g. after its record changed in a way that invalidates it). */
  evict(id: string): void {
    this.#entries.delete(id);
  }

  /** Forgets every key. */
  clear(): void {
    this.#entries.clear();
  }
}
