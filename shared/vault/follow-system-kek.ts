import type { TableClient } from '@azure/data-tables';
import type { KeyVaultKey } from '@azure/keyvault-keys';
import { KekDisabledError, KeyVaultUnavailableError } from '../errors.js';
import type { Clock } from '../core/clock.js';
import type { KekClient } from './kek-client.js';
import { toKekError } from './kek-error.js';
import type { KekRef, KeyVaultKeyId, VersionedKeyVaultKeyId } from './key-vault-key-id.js';
import { rewrapRootKeys } from './rewrap-root-keys.js';

export interface FollowSystemKekDeps {
  /** The `rootkeys` table. */
  readonly rootKeys: TableClient;
  /** The raw KEK client (every wrap and unwrap a vault call). */
  readonly vault: KekClient;
  /** Reads a key's current version and attributes (`keys/get`, granted with wrap and unwrap). */
  readonly readKey: (key: KeyVaultKeyId) => Promise<KeyVaultKey>;
  readonly clock: Clock;
  /** The system KEK (`SYSTEM_KEY_VAULT_URL`, `SYSTEM_KEY_NAME`); a version here is ignored. */
  readonly systemKek: KekRef;
}

export interface FollowSystemKekResult {
  /** Root keys moved from an older system KEK version to the current one by this run. */
  readonly rewrapped: number;
  /** Root keys already under the current version (no vault call, nothing written). */
  readonly unchanged: number;
  /** Root keys under another KEK (a customer key): never touched. */
  readonly skipped: number;
}

/**
 * Follows a rotation of the system KEK: reads the key's current version once, then re-wraps every
 * root key recorded under an older version of the system key under the current one. Root keys of
 * orgs under a customer key are left alone (their reconciler follows their key). Nothing but the
 * root key records changes, so once a run has settled, the older versions can be disabled.
 * Idempotent: a run after a settled one makes no wrap or unwrap call and writes nothing.
 *
 * @throws KEY_VAULT_UNAVAILABLE, KEK_ACCESS_DENIED, KEK_NOT_FOUND when the key cannot be read.
 * @throws KEK_DISABLED when the current version is disabled (nothing is moved onto it), or from an
 *   older version that no longer unwraps; records settled before a failure stay re-wrapped.
 * @throws DECRYPTION_FAILED when a record does not unwrap under its recorded version.
 */
export async function followSystemKekRotation(
  deps: FollowSystemKekDeps,
  options: { readonly signal?: AbortSignal } = {},
): Promise<FollowSystemKekResult> {
  const key: KeyVaultKeyId = { vaultUrl: deps.systemKek.vaultUrl, name: deps.systemKek.name };
  let current: KeyVaultKey;
  try {
    current = await deps.readKey(key);
  } catch (err) {
    throw toKekError(err, 'wrapKey');
  }
  if (current.properties.enabled === false) throw new KekDisabledError();
  const version = current.properties.version;
  if (version === undefined) {
    throw new KeyVaultUnavailableError({ cause: new Error('Key Vault answered a key without a version') });
  }
  const to: VersionedKeyVaultKeyId = { ...key, version };
  const { rewrapped, unchanged, skipped } = await rewrapRootKeys(
    { tables: deps.rootKeys, vault: deps.vault, clock: deps.clock },
    { to, onlyUnder: key, ...(options.signal === undefined ? {} : { signal: options.signal }) },
  );
  return { rewrapped, unchanged, skipped };
}
