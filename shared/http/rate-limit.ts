import { ConfigError } from '../config.js';

/** Requests per second an org may make to one instance when `API_RATE_LIMIT_PER_ORG` is not set. */
export const DEFAULT_RATE_LIMIT_PER_ORG = 200;
/** The most `API_RATE_LIMIT_PER_ORG` may be. */
export const MAX_RATE_LIMIT_PER_ORG = 100_000;
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

/**
 * `API_RATE_LIMIT_PER_ORG` (requests per second per org and instance, 1..100000; default
 * {@link DEFAULT_RATE_LIMIT_PER_ORG}).
 * @throws ConfigError for a value that is not such an integer.
 */
export function parseRateLimit(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env.API_RATE_LIMIT_PER_ORG;
  if (raw === undefined || raw === '') return DEFAULT_RATE_LIMIT_PER_ORG;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_RATE_LIMIT_PER_ORG) {
    throw new ConfigError(`API_RATE_LIMIT_PER_ORG must be an integer from 1 to ${MAX_RATE_LIMIT_PER_ORG} (requests per second per org)`);
  }
  return n;
}
