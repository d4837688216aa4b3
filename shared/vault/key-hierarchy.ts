import type { TableClient } from '@azure/data-tables';
import { DEFAULT_KEY_CACHE_TTL_SECONDS } from '../config/defaults.js';
import { AppError } from '../errors.js';
import type { Clock } from '../core/clock.js';
import type { KekClient } from './kek-client.js';
import type { KekResolver } from './kek-resolver.js';
import type { Random } from '../core/random.js';
import { RootKeyCache } from './root-key-cache.js';
import { readRootKeyRecord, rootKeyTable } from './root-key-record.js';
import { assertSandboxScope, scopeKey, type SandboxScope } from '../core/scope.js';

/** AES-256 root keys. */
export const ROOT_KEY_BYTES = 32;

export interface KeyHierarchyDeps {
  /** The `rootkeys` table. */
  readonly tables: TableClient;
  readonly vault: KekClient;
  readonly clock: Clock;
  readonly random: Random;
  /** KEK for an org's new root keys (the system KEK by default). */
  readonly resolveKek: KekResolver;
  readonly cacheTtlSeconds?: number;
  /** Serve a cached key this long past the TTL while the vault is unreachable (5xx/timeouts) only. */
  readonly maxStaleSeconds?: number;
  /**
   * Checked before every root key use, cached or not: throws to fail the org's data operations
   * closed (the CMK feature's per-org "revoked" gate: CMK_ACCESS_REVOKED).
   */
  readonly gate?: (orgId: string) => Promise<void>;
}

/** The middle of the key hierarchy: one AES-256 root key per org and sandbox. */
export interface KeyHierarchy {
  /**
   * The sandbox's root key, unwrapped (from the cache while fresh), created on first use.
   * Creation is insert-if-absent, so racing instances agree on one key. The returned buffer is
   * shared with the cache: read it, never modify it.
   *
   * @throws INVALID_REQUEST for a malformed org id or sandbox.
   * @throws KEY_VAULT_UNAVAILABLE, KEK_ACCESS_DENIED, KEK_DISABLED, KEK_NOT_FOUND from the vault.
   * @throws DECRYPTION_FAILED when the stored wrapped key does not unwrap under its recorded KEK.
   * @throws whatever the `gate` throws (CMK_ACCESS_REVOKED), before any cache or vault use.
   */
  rootKey(scope: SandboxScope): Promise<Uint8Array>;
}

/** Builds the key hierarchy over the `rootkeys` table and a KEK client. */
export function createKeyHierarchy(deps: KeyHierarchyDeps): KeyHierarchy {
  const cache = new RootKeyCache<Uint8Array>({
    clock: deps.clock,
    ttlMs: (deps.cacheTtlSeconds ?? DEFAULT_KEY_CACHE_TTL_SECONDS) * 1000,
    maxStaleMs: (deps.maxStaleSeconds ?? 0) * 1000,
    isUnreachable: (err) => err instanceof AppError && err.code === 'KEY_VAULT_UNAVAILABLE',
  });
  let tableReady: Promise<unknown> | undefined;

  async function load(scope: SandboxScope): Promise<Uint8Array> {
    const existing = await readRootKeyRecord(deps.tables, scope);
    if (existing !== undefined) return deps.vault.unwrapKey(existing.kek, existing.wrappedKey);
    return create(scope);
  }

  async function create(scope: SandboxScope): Promise<Uint8Array> {
    // Remembered once it succeeds; a failed attempt is retried by the next creation.
    tableReady ??= deps.tables.createTable().catch((err: unknown) => {
      tableReady = undefined;
      throw err;
    });
    await tableReady;
    const key = deps.random.bytes(ROOT_KEY_BYTES);
    const wrapped = await deps.vault.wrapKey(await deps.resolveKek(scope.orgId), key);
    const now = new Date(deps.clock.now()).toISOString();
    const created = await rootKeyTable(deps.tables)
      .in(scope)
      .insertIfAbsent({ scope, wrappedKey: wrapped.wrappedKey, kek: wrapped.kek, createdAt: now, updatedAt: now });
    if (created !== undefined) return key;
    // Another instance created it first: its key is the sandbox's key, ours was never used.
    key.fill(0);
    const winner = await readRootKeyRecord(deps.tables, scope);
    if (winner === undefined) throw new Error('The root key record vanished while it was being created');
    return deps.vault.unwrapKey(winner.kek, winner.wrappedKey);
  }

  return {
    async rootKey(scope) {
      assertSandboxScope(scope);
      await deps.gate?.(scope.orgId);
      return cache.get(scopeKey(scope), () => load(scope));
    },
  };
}
