import type { SandboxScope } from '../core/scope.js';
import { SandboxNotFoundError } from './sandboxes.js';

export interface SandboxGateOptions {
  /** How long a sandbox seen to exist is trusted without asking storage again. */
  readonly ttlMs: number;
  /** Monotonic milliseconds. */
  readonly now?: () => number;
  /** Bound on remembered sandboxes (oldest forgotten first). */
  readonly maxEntries?: number;
}

export interface SandboxGate {
  /** Refuses a call whose sandbox does not exist. @throws SANDBOX_NOT_FOUND */
  check(scope: SandboxScope): Promise<void>;
  /** Forgets a sandbox this instance deleted, so it refuses it at once. */
  forget(scope: SandboxScope): void;
}

/**
 * The check every authenticated request passes: the `x-sandbox-name` must name a sandbox of the
 * org, so a typo answers 404 `SANDBOX_NOT_FOUND` instead of quietly creating data somewhere new.
 * A sandbox seen to exist is remembered for `ttlMs` (one storage read per sandbox and instance per
 * period, not per request); a miss is never remembered, so a sandbox is usable on every instance
 * as soon as it is created. A deleted sandbox stays usable on an instance that saw it for at most
 * `ttlMs`.
 */
export function createSandboxGate(exists: (scope: SandboxScope) => Promise<boolean>, options: SandboxGateOptions): SandboxGate {
  const now = options.now ?? (() => performance.now());
  const maxEntries = options.maxEntries ?? 10_000;
  const seen = new Map<string, number>();
  const keyOf = (scope: SandboxScope): string => `${scope.orgId}|${scope.sandbox}`;
  const check = async (scope: SandboxScope): Promise<void> => {
    const key = keyOf(scope);
    const until = seen.get(key);
    if (until !== undefined && until > now()) return;
    seen.delete(key);
    if (!(await exists(scope))) throw new SandboxNotFoundError(scope.sandbox);
    if (seen.size >= maxEntries) {
      const oldest = seen.keys().next();
      if (oldest.done !== true) seen.delete(oldest.value);
    }
    seen.set(key, now() + options.ttlMs);
  };
  return { check, forget: (scope) => void seen.delete(keyOf(scope)) };
}
