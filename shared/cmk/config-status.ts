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
] as const;

export type CmkFailureCode = (typeof CMK_FAILURE_CODES)[number];

/** A failure (or revocation) reason: its code and a customer-facing message. */
export interface CmkFailure {
  readonly code: CmkFailureCode;
  readonly message: string;
}

/** One entry of a config's history: a status it entered, or an event (a key rotation followed). */
export interface ConfigTransition {
  readonly status: ConfigStatus;
  readonly at: string;
  readonly code?: CmkFailureCode;
  readonly event?: 'KEY_ROTATED';
  readonly keyVersion?: string;
}
