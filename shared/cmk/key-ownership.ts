import type { KeyVaultKey } from '@azure/keyvault-keys';
import { isLoopbackUrl } from '../core/loopback.js';
import type { CmkFailure } from './config-status.js';

/**
 * The tag a key's owner sets on the key to say "this key is org X's customer key": name
 * `cipherflow-org`, value exactly the org id. Setting a tag needs key-management rights
 * (`keys/update`, e.g. Key Vault Crypto Officer); our app only ever gets get/wrapKey/unwrapKey, so
 * it can read the proof but never forge it, and an org cannot claim a key another customer
 * consented us to.
 */
export const OWNER_TAG = 'cipherflow-org';

/** Whose keys an org may not name, and how long configs that took effect without proof keep working. */
export interface OwnershipPolicy {
  /**
   * Origins (`https://host[:port]`) of the vaults cipherflow operates: the system KEK's vault
   * (`SYSTEM_KEY_VAULT_URL`) and `CMK_OPERATOR_VAULT_URLS`. Their keys are never a customer's,
   * whatever their tags.
   */
  readonly operatorVaults: readonly string[];
  /**
   * `CMK_OWNERSHIP_GRACE_DAYS`: a config that took effect before proof was required keeps working
   * this long after the reconciler first finds it without proof.
   */
  readonly graceDays: number;
}

/** What a config's GET answers about the proof (`ownership`, our extension). */
export interface OwnershipView {
  /** The key's current version carried the tag naming the org at the last check. */
  readonly verified: boolean;
  /** For a config that took effect without proof: from when the missing proof fails it. */
  readonly enforcedFrom?: string;
}

/** What a config remembers of the proof: proven (now), proven once and lost, or (absent) never proven. */
export type OwnerProof = 'VERIFIED' | 'LOST';

const DAY_MS = 24 * 3600 * 1000;

/**
 * Normalizes a vault URL to its origin (lower-case host, no default port, no path); loopback names
 * (localhost, [::1], 127.x.y.z: the local emulators) as 127.0.0.1, so no spelling of our own
 * emulator passes for another vault. Pure.
 */
export function vaultOrigin(vaultUrl: string): string {
  const url = new URL(vaultUrl);
  if (isLoopbackUrl(url.href)) url.hostname = '127.0.0.1';
  return url.origin;
}

/** The policy from settings and the system KEK's vault URL. Pure. */
export function ownershipPolicy(settings: { readonly operatorVaultUrls: readonly string[]; readonly ownershipGraceDays: number }, systemKeyVaultUrl: string): OwnershipPolicy {
  const operatorVaults = [...new Set([systemKeyVaultUrl, ...settings.operatorVaultUrls].map(vaultOrigin))];
  return { operatorVaults, graceDays: settings.ownershipGraceDays };
}

/** True when the vault is one cipherflow operates (compared by origin). Pure. */
export function isOperatorVault(policy: OwnershipPolicy, vaultUrl: string): boolean {
  const origin = vaultOrigin(vaultUrl);
  return policy.operatorVaults.some((v) => vaultOrigin(v) === origin);
}

/**
 * True when the key (as `keys/get` answered it: its current version) proves it is the org's: not
 * in an operator vault, and tagged {@link OWNER_TAG} with exactly the org id. Pure.
 */
export function keyProvesOwnership(policy: OwnershipPolicy, vaultUrl: string, key: KeyVaultKey, orgId: string): boolean {
  if (isOperatorVault(policy, vaultUrl)) return false;
  const tags = key.properties.tags ?? {};
  return Object.hasOwn(tags, OWNER_TAG) && tags[OWNER_TAG] === orgId;
}

/**
 * The failure of a key that does not prove ownership. The message never echoes the tag found: on
 * another customer's key it would name that customer's org.
 */
export function notOwnedFailure(policy: OwnershipPolicy, vaultUrl: string, orgId: string): CmkFailure {
  return isOperatorVault(policy, vaultUrl)
    ? { code: 'CMK_KEY_NOT_OWNED', message: "The key is in a Key Vault that cipherflow operates, not in yours; use a key in your own Key Vault" }
    : {
        code: 'CMK_KEY_NOT_OWNED',
        message: `The key's current version has no tag ${OWNER_TAG} naming this organization; its owner must add the tag ${OWNER_TAG}=${orgId} (this needs key-management rights)`,
      };
}

/** When a config first found without proof at `unprovenSince` fails for it. Pure. */
export function enforcedFrom(policy: OwnershipPolicy, unprovenSince: string): string {
  return new Date(Date.parse(unprovenSince) + policy.graceDays * DAY_MS).toISOString();
}

/** The `ownership` field of a config's GET. Pure. */
export function ownershipView(policy: OwnershipPolicy, record: { readonly ownerProof?: OwnerProof; readonly unprovenSince?: string }): OwnershipView {
  if (record.ownerProof === 'VERIFIED') return { verified: true };
  if (record.ownerProof === undefined && record.unprovenSince !== undefined) return { verified: false, enforcedFrom: enforcedFrom(policy, record.unprovenSince) };
  return { verified: false };
}

/**
 * What to do with a config that took effect when the proof is (or is not) on its key now:
 * - proof present: `VERIFIED` (a grace in progress ends);
 * - proof lost after it was seen: enforced at once, as a revocation of the proof is;
 * - never proven (configs that took effect before proof was required): the grace starts now if
 *   it has not, and is enforced once it has run out.
 * Pure.
 */
export function settleProof(
  policy: OwnershipPolicy,
  record: { readonly ownerProof?: OwnerProof; readonly unprovenSince?: string },
  owned: boolean,
  nowMs: number,
): { readonly ownerProof?: OwnerProof; readonly unprovenSince?: string; readonly enforce: boolean } {
  if (owned) return { ownerProof: 'VERIFIED', enforce: false };
  if (record.ownerProof !== undefined) return { ownerProof: 'LOST', enforce: true };
  const since = record.unprovenSince ?? new Date(nowMs).toISOString();
  return { unprovenSince: since, enforce: nowMs >= Date.parse(enforcedFrom(policy, since)) };
}
