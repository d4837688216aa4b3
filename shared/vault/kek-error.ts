import { isRestError, type RestErrorLike } from '../core/azure-errors.js';
import {
  DecryptionFailedError,
  KekAccessDeniedError,
  KekDisabledError,
  KekNotFoundError,
  KeyVaultUnavailableError,
} from '../errors.js';

// Failures of the credential itself (the managed identity endpoint is down or not configured): the
// vault was never asked, so this is an availability problem, not a refusal by the key's owner.
const CREDENTIAL_ERRORS = new Set(['CredentialUnavailableError', 'AuthenticationError', 'AggregateAuthenticationError']);

/**
 * Maps a failed wrap/unwrap to the vault layer's stable codes. A refusal (403/404/disabled) is never
 * an availability problem, so the later stale-key cache can tell "refused" from "unreachable".
 *
 * @returns `KEK_DISABLED` (403 with innererror KeyDisabled), `KEK_ACCESS_DENIED` (other 403, 401),
 *   `KEK_NOT_FOUND` (404), `KEY_VAULT_UNAVAILABLE` (408, 429, 5xx, network, timeout, credential),
 *   `DECRYPTION_FAILED` (400 on unwrap: the wrapped key does not open under that KEK), or the
 *   original error when none applies.
 */
export function toKekError(err: unknown, operation: 'wrapKey' | 'unwrapKey'): unknown {
  if (!(err instanceof Error)) return err;
  if (err.name === 'AbortError' || CREDENTIAL_ERRORS.has(err.name)) return new KeyVaultUnavailableError({ cause: err });
  if (!isRestError(err)) return err;
  const status = err.statusCode;
  if (status === undefined || status === 408 || status === 429 || status >= 500) return new KeyVaultUnavailableError({ cause: err });
  if (status === 403) return innerCode(err) === 'KeyDisabled' ? new KekDisabledError({ cause: err }) : new KekAccessDeniedError({ cause: err });
  if (status === 401) return new KekAccessDeniedError({ cause: err });
  if (status === 404) return new KekNotFoundError({ cause: err });
  if (status === 400 && operation === 'unwrapKey') return new DecryptionFailedError({ cause: err });
  return err;
}

function innerCode(err: RestErrorLike): string | undefined {
  const details = err.details;
  if (typeof details !== 'object' || details === null || !('error' in details)) return undefined;
  const error: unknown = details.error;
  if (typeof error !== 'object' || error === null || !('innerError' in error)) return undefined;
  const inner: unknown = error.innerError;
  if (typeof inner !== 'object' || inner === null || !('code' in inner)) return undefined;
  return typeof inner.code === 'string' ? inner.code : undefined;
}
