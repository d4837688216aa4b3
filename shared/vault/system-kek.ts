import type { KeyClient } from '@azure/keyvault-keys';
import { isNotFound } from '../core/azure-errors.js';
import type { KekRef } from './key-vault-key-id.js';

/** RSA modulus size of the system KEK, and the smallest accepted for any KEK. */
export const KEK_MIN_RSA_BITS = 3072;

export interface EnsureSystemKekOptions {
  readonly name: string;
  readonly environment: 'local' | 'production';
}

/**
 * Makes sure the system KEK exists. In local mode it is created on first start (RSA 3072, key_ops
 * wrapKey/unwrapKey only) when absent; in production it is provisioned by infrastructure and this
 * only returns its reference, so the app never needs the `keys/create` permission there.
 *
 * @throws Error when an existing local key is not an RSA key of at least 3072 bits allowed to wrap
 *   and unwrap (a configuration error that must stop the start).
 * @throws RestError from Key Vault when the key cannot be read or created.
 */
export async function ensureSystemKek(deps: { readonly keys: KeyClient }, options: EnsureSystemKekOptions): Promise<KekRef> {
  const ref: KekRef = { vaultUrl: new URL(deps.keys.vaultUrl).origin, name: options.name };
  if (options.environment !== 'local') return ref;
  let key;
  try {
    key = await deps.keys.getKey(options.name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    // Two instances starting together may both create; each just adds a version, both usable.
    key = await deps.keys.createRsaKey(options.name, { keySize: KEK_MIN_RSA_BITS, keyOps: ['wrapKey', 'unwrapKey'] });
  }
  const bits = (key.key?.n?.length ?? 0) * 8;
  const ops = key.keyOperations ?? [];
  if (bits < KEK_MIN_RSA_BITS || !ops.includes('wrapKey') || !ops.includes('unwrapKey')) {
    throw new Error(`The system KEK ${options.name} must be RSA ${KEK_MIN_RSA_BITS}+ with key_ops wrapKey and unwrapKey`);
  }
  return ref;
}
