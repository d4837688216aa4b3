import { z } from 'zod';
import { DEFAULT_KEY_CACHE_TTL_SECONDS } from './key-hierarchy.js';

/** How long unwrapped root keys are kept, from `KEY_CACHE_TTL_SECONDS` / `KEY_CACHE_MAX_STALE_SECONDS`. */
export interface KeyCacheSettings {
  readonly cacheTtlSeconds: number;
  readonly maxStaleSeconds: number;
}

// A day at most: the TTL is how late a revoked or disabled KEK is noticed.
const seconds = z.coerce.number().int().min(0).max(86_400);
const Env = z.object({
  KEY_CACHE_TTL_SECONDS: seconds.default(DEFAULT_KEY_CACHE_TTL_SECONDS),
  KEY_CACHE_MAX_STALE_SECONDS: seconds.default(3600),
});

/**
 * Reads the key cache settings from app settings.
 * @throws ZodError naming the malformed setting (the start must stop on it).
 */
export function parseKeyCacheSettings(env: Readonly<Record<string, string | undefined>>): KeyCacheSettings {
  const e = Env.parse({ KEY_CACHE_TTL_SECONDS: env.KEY_CACHE_TTL_SECONDS, KEY_CACHE_MAX_STALE_SECONDS: env.KEY_CACHE_MAX_STALE_SECONDS });
  return { cacheTtlSeconds: e.KEY_CACHE_TTL_SECONDS, maxStaleSeconds: e.KEY_CACHE_MAX_STALE_SECONDS };
}
