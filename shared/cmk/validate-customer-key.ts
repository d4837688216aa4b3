import type { KeyVaultKey } from '@azure/keyvault-keys';
import { timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Clock } from '../vault/clock.js';
import type { KekClient } from '../vault/kek-client.js';
import { toKekError } from '../vault/kek-error.js';
import type { KeyVaultKeyId, VersionedKeyVaultKeyId } from '../vault/key-vault-key-id.js';
import type { Random } from '../vault/random.js';
import { KEK_MIN_RSA_BITS } from '../vault/system-kek.js';
import type { CmkFailure } from './config-status.js';

/** Reads a key's properties (the `keys/get` permission, which the Crypto Service Encryption User role grants). */
export type KeyReader = (key: KeyVaultKeyId) => Promise<KeyVaultKey>;

export interface ValidateCustomerKeyDeps {
  readonly readKey: KeyReader;
  /** Every wrap and unwrap a vault round trip (never the SDK's local RSA-OAEP). */
  readonly vault: KekClient;
  readonly clock: Clock;
  readonly random: Random;
}

/** The outcome of checking a customer key: usable (at this version), refused (why), or the vault was unreachable. */
export type KeyCheck =
  | { readonly kind: 'valid'; readonly version: string }
  | { readonly kind: 'refused'; readonly failure: CmkFailure }
  | { readonly kind: 'unreachable'; readonly cause: unknown };

const PROBE_BYTES = 32;

/**
 * Checks, with our identity, that a customer key can be the KEK of an org: reachable, RSA of at
 * least {@link KEK_MIN_RSA_BITS} bits, enabled, inside its nbf/exp window (Key Vault itself lets an
 * expired key unwrap, so the dates are checked here), key_ops allowing wrapKey and unwrapKey, its
 * vault purge-protected (`recoveryLevel` without "Purgeable"), and a wrap/unwrap round trip of a
 * random value through the vault at the current version.
 *
 * Never throws for a key problem: refusals come back as {@link CmkFailure}, timeouts and 5xx as
 * `unreachable` (retried later, never a failure of the config).
 */
export async function validateCustomerKey(deps: ValidateCustomerKeyDeps, target: KeyVaultKeyId, options: { readonly roundTrip?: boolean } = {}): Promise<KeyCheck> {
  let key: KeyVaultKey;
  try {
    key = await deps.readKey({ vaultUrl: target.vaultUrl, name: target.name });
  } catch (err) {
    return fromVaultError(toKekError(err, 'wrapKey'));
  }
  const property = checkProperties(key, deps.clock.now());
  if (property !== undefined) return { kind: 'refused', failure: property };
  const version = key.properties.version;
  if (version === undefined) return { kind: 'unreachable', cause: new Error('Key Vault answered a key without a version') };
  if (options.roundTrip === false) return { kind: 'valid', version };

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
  return { kind: 'valid', version };
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
export function fromVaultError(err: unknown): KeyCheck {
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

function refused(code: CmkFailure['code'], message: string): KeyCheck {
  return { kind: 'refused', failure: { code, message } };
}
