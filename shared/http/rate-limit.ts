/** Orgs tracked at once; the least recently seen is forgotten first (it then starts with a full bucket). */
const MAX_TRACKED_ORGS = 10_000;

/** A per-key request rate limit. */
export interface RateLimiter {
  /** Takes one request for `key`: `undefined` when allowed, else the seconds to wait (≥ 1) for `Retry-After`. */
  take(key: string): number | undefined;
}

export interface RateLimiterOptions {
  /** Sustained requests per second per key. */
  readonly ratePerSecond: number;
  /** Requests a key may make at once after being idle; default twice the rate. */
  readonly burst?: number;
  /** Monotonic milliseconds. */
  readonly now?: () => number;
}

/**
 * A token bucket per key (the org id), in this process's memory: the limit holds **per instance**,
 * so a scaled-out app allows up to the rate times its instance count. It protects an instance from
 * one org starving the others; a global quota belongs in front of the app (API Management).
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const rate = options.ratePerSecond;
  const burst = options.burst ?? rate * 2;
  const now = options.now ?? (() => performance.now());
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key) {
      const t = now();
      const bucket = buckets.get(key) ?? { tokens: burst, at: t };
      // Re-inserted on each use, so the Map's order is least recently seen first.
      buckets.delete(key);
      bucket.tokens = Math.min(burst, bucket.tokens + ((t - bucket.at) / 1000) * rate);
      bucket.at = t;
      buckets.set(key, bucket);
      if (buckets.size > MAX_TRACKED_ORGS) {
        const oldest = buckets.keys().next();
        if (oldest.done !== true) buckets.delete(oldest.value);
      }
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return undefined;
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / rate));
    },
  };
}
