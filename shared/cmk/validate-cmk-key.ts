import type { KeyClient, KeyVaultKey } from '@azure/keyvault-keys';
import { timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Clock } from '../core/clock.js';
import type { KekClient } from '../vault/kek-client.js';
import { toKekError } from '../vault/kek-error.js';
import type { KeyVaultKeyId, VersionedKeyVaultKeyId } from '../vault/key-vault-key-id.js';
import type { Random } from '../core/random.js';
import { KEK_MIN_RSA_BITS } from '../vault/system-kek.js';
import type { CmkFailure } from './config-status.js';
import { isOperatorVault, keyProvesOwnership, notOwnedFailure, type OwnershipPolicy } from './key-ownership.js';

/**
 * Reads a key's current version: properties and tags (the `keys/get` permission, which the Crypto
 * Service Encryption User role grants). `abortSignal` bounds a vault that never answers.
 */
export type KeyReader = (key: KeyVaultKeyId, options?: { readonly abortSignal?: AbortSignal }) => Promise<KeyVaultKey>;

/** How long one `keys/get` may take before the vault counts as unreachable (the SDK sets no limit). */
export const KEY_READ_TIMEOUT_MS = 30_000;

/** A {@link KeyReader} over the app's Key Vault clients (one per vault), passing the abort signal on. */
export function keyReader(keys: (vaultUrl: string) => Pick<KeyClient, 'getKey'>): KeyReader {
  return (key, options) => keys(key.vaultUrl).getKey(key.name, options?.abortSignal === undefined ? {} : { abortSignal: options.abortSignal });
}

export interface ValidateCmkKeyDeps {
  readonly readKey: KeyReader;
  /** Every wrap and unwrap a vault round trip (never the SDK's local RSA-OAEP). */
  readonly vault: KekClient;
  readonly clock: Clock;
  readonly random: Random;
}

/**
 * The outcome of checking a customer key: usable (at this version; `owned` when it proves it is
 * the org's), refused (why), or the vault was unreachable.
 */
export type CmkKeyCheck =
  | { readonly kind: 'valid'; readonly version: string; readonly owned: boolean }
  | { readonly kind: 'refused'; readonly failure: CmkFailure }
  | { readonly kind: 'unreachable'; readonly cause: unknown };

const PROBE_BYTES = 32;

/** Whose key it must be, and whether a key that does not prove it is refused or only reported. */
export interface OwnerCheck {
  readonly orgId: string;
  readonly policy: OwnershipPolicy;
  /**
   * Refuse with CMK_KEY_NOT_OWNED, before any other check and before the key is used (a config not
   * yet in effect). When false the result carries `owned` and the caller decides (a config in
   * effect may be in its grace period).
   */
  readonly require: boolean;
}

/**
 * Checks, with our identity, that a customer key can be the KEK of an org: not in a vault we
 * operate and tagged `cipherflow-org` = the org id (when `owner.require`; checked first, so a key
 * that is not the org's is never used and none of its properties is told), reachable, RSA of at
 * least {@link KEK_MIN_RSA_BITS} bits, enabled, inside its nbf/exp window (Key Vault itself lets an
 * expired key unwrap, so the dates are checked here), key_ops allowing wrapKey and unwrapKey, its
 * vault purge-protected (`recoveryLevel` without "Purgeable"), and a wrap/unwrap round trip of a
 * random value through the vault at the current version.
 *
 * Never throws for a key problem: refusals come back as {@link CmkFailure}, timeouts and 5xx as
 * `unreachable` (retried later, never a failure of the config).
 */
export async function validateCmkKey(
  deps: ValidateCmkKeyDeps,
  target: KeyVaultKeyId,
  owner: OwnerCheck,
  options: { readonly roundTrip?: boolean } = {},
): Promise<CmkKeyCheck> {
  // No vault call at all for our own vaults: their keys are readable by design.
  if (owner.require && isOperatorVault(owner.policy, target.vaultUrl)) return { kind: 'refused', failure: notOwnedFailure(owner.policy, target.vaultUrl, owner.orgId) };
  let key: KeyVaultKey;
  try {
    key = await deps.readKey({ vaultUrl: target.vaultUrl, name: target.name }, { abortSignal: AbortSignal.timeout(KEY_READ_TIMEOUT_MS) });
  } catch (err) {
    return fromVaultError(toKekError(err, 'wrapKey'));
  }
  const owned = keyProvesOwnership(owner.policy, target.vaultUrl, key, owner.orgId);
  if (owner.require && !owned) return { kind: 'refused', failure: notOwnedFailure(owner.policy, target.vaultUrl, owner.orgId) };
  const property = checkProperties(key, deps.clock.now());
  if (property !== undefined) return { kind: 'refused', failure: property };
  const version = key.properties.version;
  if (version === undefined) return { kind: 'unreachable', cause: new Error('Key Vault answered a key without a version') };
  if (options.roundTrip === false) return { kind: 'valid', version, owned };

  const kek: VersionedKeyVaultKeyId = { vaultUrl: target.vaultUrl, name: target.name, version };
  const probe = deps.random.bytes(PROBE_BYTES);
  try {
    const wrapped = await deps.vault.wrapKey(kek, probe);
    const back = await deps.vault.unwrapKey(wrapped.kek, wrapped.wrappedKey);
    if (back.length !== probe.length || !timingSafeEqual(back, probe)) {
      return refused('KEY_ROUND_TRIP_FAILED', 'A value wrapped by the key did not unwrap to itself');
    }
  } catch (err) {
    return fromVaultError(err);
  }
  return { kind: 'valid', version, owned };
}

/**
 * Reads only whether the key proves it is the org's (one `keys/get`); `unknown` when the vault
 * did not answer or refused (the caller's own vault calls report that).
 */
export async function readOwnership(deps: Pick<ValidateCmkKeyDeps, 'readKey'>, target: KeyVaultKeyId, orgId: string, policy: OwnershipPolicy): Promise<'owned' | 'not-owned' | 'unknown'> {
  if (isOperatorVault(policy, target.vaultUrl)) return 'not-owned';
  try {
    const key = await deps.readKey({ vaultUrl: target.vaultUrl, name: target.name }, { abortSignal: AbortSignal.timeout(KEY_READ_TIMEOUT_MS) });
    return keyProvesOwnership(policy, target.vaultUrl, key, orgId) ? 'owned' : 'not-owned';
  } catch {
    return 'unknown';
  }
}

/** The property checks alone (no vault call): type, size, state, dates, operations, purge protection. Pure. */
export function checkProperties(key: KeyVaultKey, nowMs: number): CmkFailure | undefined {
  const type = key.keyType;
  if (type !== 'RSA' && type !== 'RSA-HSM') return { code: 'KEY_TYPE_UNSUPPORTED', message: `The key must be an RSA key, not ${type ?? 'unknown'}` };
  const bits = (key.key?.n?.length ?? 0) * 8;
  if (bits < KEK_MIN_RSA_BITS) return { code: 'KEY_TOO_SMALL', message: `The key must be RSA of at least ${KEK_MIN_RSA_BITS} bits, not ${bits}` };
  if (key.properties.enabled === false) return { code: 'KEY_DISABLED', message: 'The key is disabled' };
  const { expiresOn, notBefore } = key.properties;
  if (expiresOn !== undefined && expiresOn.getTime() <= nowMs) return { code: 'KEY_EXPIRED', message: `The key expired at ${expiresOn.toISOString()}` };
  if (notBefore !== undefined && notBefore.getTime() > nowMs) return { code: 'KEY_NOT_YET_VALID', message: `The key is not valid before ${notBefore.toISOString()}` };
  const ops = key.keyOperations ?? [];
  const missing = (['wrapKey', 'unwrapKey'] as const).filter((op) => !ops.includes(op));
  if (missing.length > 0) return { code: 'KEY_OPERATIONS_MISSING', message: `The key's permitted operations lack ${missing.join(' and ')}` };
  const level = key.properties.recoveryLevel ?? '';
  if (level === '' || level.includes('Purgeable')) {
    return { code: 'PURGE_PROTECTION_DISABLED', message: `The key vault must have purge protection enabled (recoveryLevel is ${level || 'unknown'})` };
  }
  return undefined;
}

/** Maps a vault failure (already a KEK error or a raw RestError) to a refusal or unreachable. */
export function fromVaultError(err: unknown): CmkKeyCheck {
  const mapped = err instanceof AppError ? err : toKekError(err, 'wrapKey');
  if (!(mapped instanceof AppError)) return { kind: 'unreachable', cause: err };
  switch (mapped.code) {
    case 'KEK_NOT_FOUND':
      return refused('KEY_NOT_FOUND', 'The key (or its vault) does not exist, or it was deleted');
    case 'KEK_ACCESS_DENIED':
      return refused('KEY_ACCESS_DENIED', "cipherflow's application has no role on the key; assign it Key Vault Crypto Service Encryption User");
    case 'KEK_DISABLED':
      return refused('KEY_DISABLED', 'The key is disabled');
    case 'DECRYPTION_FAILED':
      return refused('KEY_ROUND_TRIP_FAILED', 'A value wrapped by the key did not unwrap');
    default:
      return { kind: 'unreachable', cause: mapped };
  }
}

function refused(code: CmkFailure['code'], message: string): CmkKeyCheck {
  return { kind: 'refused', failure: { code, message } };
}
