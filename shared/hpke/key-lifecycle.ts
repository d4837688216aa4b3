/**
 * When a server key is announced, used, accepted and dropped. Status follows from the key's
 * times and the clock alone, so every instance agrees on it without coordination, whenever the
 * rotation timer last ran.
 */

const DAY_MS = 86_400_000;

/** A successor is published as `next` this long before it becomes active. */
export const NEXT_LEAD_MS = 30 * DAY_MS;
/** After its active period a key is still accepted as `retiring` this long. */
export const RETIRING_GRACE_MS = 7 * DAY_MS;
/** Largest distance between `x-hpke-timestamp` and server time. */
export const MAX_TIMESTAMP_SKEW_SECONDS = 300;

export type KeyStatus = 'next' | 'active' | 'retiring' | 'expired';

/** The times that decide a server key's status. */
export interface KeyPeriod {
  /** Epoch ms the key becomes active. */
  readonly activeFrom: number;
  /** Epoch ms the successor takes over; retiring from then on. */
  readonly activeUntil: number;
}

/** The key's status at `now` (epoch ms). */
export function keyStatus(key: KeyPeriod, now: number): KeyStatus {
  if (now < key.activeFrom) return 'next';
  if (now < key.activeUntil) return 'active';
  if (now < key.activeUntil + RETIRING_GRACE_MS) return 'retiring';
  return 'expired';
}

/**
 * Epoch ms after which requests to the key are refused: the end of the grace, plus the timestamp
 * skew, so a request sent while the key was still listed is not dropped in transit.
 */
export function acceptedUntil(key: KeyPeriod): number {
  return key.activeUntil + RETIRING_GRACE_MS + MAX_TIMESTAMP_SKEW_SECONDS * 1000;
}

/** True while requests encrypted to the key are decrypted (`next`, `active`, `retiring`, and the skew after). */
export function acceptsRequests(key: KeyPeriod, now: number): boolean {
  return now < acceptedUntil(key);
}

/** What the rotation must do at `now`, computed from the stored keys only. */
export interface RotationPlan {
  /** A key to create, with the period it gets (absent when none is due). */
  readonly create?: KeyPeriod;
  /** Key ids whose rows (and private keys) can be dropped: no request to them is accepted any more. */
  readonly drop: readonly number[];
}

/**
 * Plans one rotation step. With no active key one is created, active at once; when the newest
 * key ends within {@link NEXT_LEAD_MS}, its successor is created starting exactly where it ends,
 * so there is never a gap or an overlap of active keys.
 */
export function planRotation(keys: readonly (KeyPeriod & { readonly keyId: number })[], now: number, lifetimeMs: number): RotationPlan {
  const drop = keys.filter((k) => !acceptsRequests(k, now)).map((k) => k.keyId);
  const live = keys.filter((k) => acceptsRequests(k, now));
  const newest = live.reduce<(KeyPeriod & { keyId: number }) | undefined>((a, k) => (a === undefined || k.activeUntil > a.activeUntil ? k : a), undefined);
  if (newest === undefined || newest.activeUntil <= now) return { create: { activeFrom: now, activeUntil: now + lifetimeMs }, drop };
  if (newest.activeUntil - NEXT_LEAD_MS <= now) {
    return { create: { activeFrom: newest.activeUntil, activeUntil: newest.activeUntil + lifetimeMs }, drop };
  }
  return { drop };
}

/** The key id after `previous` (0..255 cycling) that no live key uses; undefined when all 256 are taken. */
export function nextKeyId(previous: number | undefined, used: ReadonlySet<number>): number | undefined {
  for (let i = 1; i <= 256; i++) {
    const id = ((previous ?? -1) + i) % 256;
    if (!used.has(id)) return id;
  }
  return undefined;
}
