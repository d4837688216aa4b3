import { AppError, CmkAccessRevokedError } from '../errors.js';
import type { KekClient } from '../vault/kek-client.js';
import type { KekRef } from '../vault/key-vault-key-id.js';

const REFUSALS = new Set(['KEK_ACCESS_DENIED', 'KEK_DISABLED', 'KEK_NOT_FOUND']);

/**
 * Wraps the data path's KEK client so that a customer key's refusal (403, disabled, 404/deleted)
 * surfaces as CMK_ACCESS_REVOKED: the customer revoked us, the data fails closed at once, whether
 * or not the reconciler has noticed yet. Unreachable (5xx, timeouts) passes through unchanged
 * (KEY_VAULT_UNAVAILABLE), so cached keys keep serving in the stale window. System KEK errors
 * are untouched.
 */
export function guardCustomerKek(vault: KekClient, isCustomerKek: (kek: KekRef) => boolean): KekClient {
  const translate = (kek: KekRef, err: unknown): unknown =>
    err instanceof AppError && REFUSALS.has(err.code) && isCustomerKek(kek) ? new CmkAccessRevokedError({ cause: err }) : err;
  return {
    async wrapKey(kek, key) {
      try {
        return await vault.wrapKey(kek, key);
      } catch (err) {
        throw translate(kek, err);
      }
    },
    async unwrapKey(kek, wrappedKey) {
      try {
        return await vault.unwrapKey(kek, wrappedKey);
      } catch (err) {
        throw translate(kek, err);
      }
    },
  };
}
