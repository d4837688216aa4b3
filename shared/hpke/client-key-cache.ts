/**
 * How long an instance answers from the client keys it read. A key registered, replaced or
 * deleted through this instance applies here at once (the org's entries are dropped); through
 * another instance, here after at most this long: for that long a response may still be sealed
 * to a key its owner has just deleted, or a new key (an id that had none) go unused. A pending
 * replacement still takes over exactly at its `effectiveTime`, never later.
 */
export const CLIENT_KEY_CACHE_MS = 5_000;
/** Orgs (times key ids asked for) remembered at most; the oldest entries go first. */
export const CLIENT_KEY_CACHE_MAX_ENTRIES = 10_000;

interface Entry<T> {
  readonly orgId: string;
  /** Epoch ms after which the entry is read again. */
  readonly until: number;
  readonly value: Promise<T>;
}

/** A short-lived per-process cache of what the client key table said, per org and key id. */
export interface ClientKeyCache<T> {
  /**
   * The cached value, or `load()`'s, kept until `now + CLIENT_KEY_CACHE_MS` or the time `load`
   * names (when a pending key takes over), whichever comes first. Concurrent misses share one
   * load; a failed load (a missing key included) is not kept.
   */
  get(orgId: string, keyId: number | undefined, now: number, load: () => Promise<{ value: T; changesAt?: number }>): Promise<T>;
  /** Drops the org's entries: called on every change made through this instance. */
  invalidate(orgId: string): void;
}

export function createClientKeyCache<T>(): ClientKeyCache<T> {
  const entries = new Map<string, Entry<T>>();
  return {
    get(orgId, keyId, now, load) {
      const id = `${keyId ?? 'newest'} ${orgId}`;
      const hit = entries.get(id);
      if (hit !== undefined && now < hit.until) return hit.value;
      const loading = load();
      const value = loading.then((r) => r.value);
      const entry: Entry<T> = { orgId, until: now + CLIENT_KEY_CACHE_MS, value };
      entries.delete(id);
      entries.set(id, entry);
      loading.then(
        (r) => {
          if (r.changesAt !== undefined && r.changesAt < entry.until && entries.get(id) === entry) entries.set(id, { ...entry, until: r.changesAt });
        },
        () => {
          if (entries.get(id) === entry) entries.delete(id);
        },
      );
      for (const oldest of entries.keys()) {
        if (entries.size <= CLIENT_KEY_CACHE_MAX_ENTRIES) break;
        entries.delete(oldest);
      }
      return value;
    },
    invalidate(orgId) {
      for (const [id, entry] of entries) if (entry.orgId === orgId) entries.delete(id);
    },
  };
}
