/**
 * Statuses of a BYOK configuration. The first five are Adobe's; `KEY_ACCESS_REVOKED` and
 * `KEY_VAULT_UNREACHABLE` are ours, reached only from `COMPLETED` while the reconciler watches the
 * org's key, and left again when access returns.
 */
export const CONFIG_STATUSES = [
  'NEW',
  'RUNNING',
  'UPDATE_EXISTING_RESOURCES',
  'COMPLETED',
  'FAILED',
  'KEY_ACCESS_REVOKED',
  'KEY_VAULT_UNREACHABLE',
] as const;

export type ConfigStatus = (typeof CONFIG_STATUSES)[number];

/** Statuses of a config whose key is (or is becoming) the org's KEK. */
export const IN_FLIGHT_STATUSES: ReadonlySet<ConfigStatus> = new Set(['NEW', 'RUNNING', 'UPDATE_EXISTING_RESOURCES']);

/**
 * Statuses of a config that can still be deleted or replaced: it never took effect, so the org's
 * key state does not name its key (checked too: see `deleteByokConfig`).
 */
export const NOT_YET_EFFECTIVE_STATUSES: ReadonlySet<ConfigStatus> = new Set(['NEW', 'RUNNING', 'FAILED']);

/** Statuses of the org's active config once it took effect: the reconciler watches the key. */
export const WATCHED_STATUSES: ReadonlySet<ConfigStatus> = new Set(['COMPLETED', 'KEY_ACCESS_REVOKED', 'KEY_VAULT_UNREACHABLE']);

/** Why a config failed, or why access to its key is revoked: a closed set the status answer carries. */
export const CMK_FAILURE_CODES = [
  'KEY_NOT_FOUND',
  'KEY_ACCESS_DENIED',
  'KEY_TYPE_UNSUPPORTED',
  'KEY_TOO_SMALL',
  'KEY_OPERATIONS_MISSING',
  'PURGE_PROTECTION_DISABLED',
  'KEY_DISABLED',
  'KEY_EXPIRED',
  'KEY_NOT_YET_VALID',
  'KEY_ROUND_TRIP_FAILED',
  'KEY_VAULT_UNREACHABLE',
  // A re-wrap in UPDATE_EXISTING_RESOURCES was refused by the key the root keys move FROM, not by
  // this config's key: our system KEK (our problem, never reported as the customer's), or the key
  // of the org's previous config.
  'SYSTEM_KEY_REFUSED',
  'PREVIOUS_KEY_REFUSED',
  // The key does not prove it is the org's: in a vault cipherflow operates, or its current version
  // lacks the tag cipherflow-org naming the org (see key-ownership.ts).
  'CMK_KEY_NOT_OWNED',
  // A NEW or RUNNING config another config of the org replaced before it took effect.
  'CONFIG_REPLACED',
] as const;

export type CmkFailureCode = (typeof CMK_FAILURE_CODES)[number];

/** A failure (or revocation) reason: its code and a customer-facing message. */
export interface CmkFailure {
  readonly code: CmkFailureCode;
  readonly message: string;
}

/**
 * Events a config's history records besides status changes: a key rotation followed, a re-wrap
 * refused in UPDATE_EXISTING_RESOURCES (the config stays there and retries each cycle), a config
 * that took effect without proof of ownership found so (its grace period starts), and such a
 * config's key found proven.
 */
export const CONFIG_EVENTS = ['KEY_ROTATED', 'REWRAP_REFUSED', 'OWNERSHIP_UNPROVEN', 'OWNERSHIP_VERIFIED'] as const;

export type ConfigEvent = (typeof CONFIG_EVENTS)[number];

/** One entry of a config's history: a status it entered, or an event while in `status`. */
export interface ConfigTransition {
  readonly status: ConfigStatus;
  readonly at: string;
  readonly code?: CmkFailureCode;
  readonly event?: ConfigEvent;
  readonly keyVersion?: string;
}
