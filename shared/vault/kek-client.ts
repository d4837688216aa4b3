import type { TokenCredential } from '@azure/identity';
import { CryptographyClient, type CryptographyClientOptions, type KeyVaultKey } from '@azure/keyvault-keys';
import { isLoopbackUrl } from '../core/loopback.js';
import { KeyVaultUnavailableError } from '../errors.js';
import { toKekError } from './kek-error.js';
import { statusCodeOf } from '../core/azure-errors.js';
import {
  formatKeyVaultKeyId,
  parseVersionedKeyVaultKeyId,
  sameKey,
  type KekRef,
  type VersionedKeyVaultKeyId,
} from './key-vault-key-id.js';

/** The only key-wrap algorithm used: RSA-OAEP with SHA-256, always performed by the vault. */
export const KEK_WRAP_ALGORITHM = 'RSA-OAEP-256';

/** A key wrapped by a KEK, with the exact KEK version that wrapped it. */
export interface WrappedKey {
  readonly wrappedKey: Uint8Array;
  readonly kek: VersionedKeyVaultKeyId;
}

/** Wrap and unwrap through a key-encryption key; the `vault` collaborator of the key hierarchy. */
export interface KekClient {
  /**
   * Wraps `key` under `kek` (its current version when unversioned).
   * @throws KEY_VAULT_UNAVAILABLE, KEK_ACCESS_DENIED, KEK_DISABLED, KEK_NOT_FOUND
   */
  wrapKey(kek: KekRef, key: Uint8Array): Promise<WrappedKey>;
  /**
   * Unwraps a key wrapped by exactly `kek`.
   * @throws KEY_VAULT_UNAVAILABLE, KEK_ACCESS_DENIED, KEK_DISABLED, KEK_NOT_FOUND, DECRYPTION_FAILED
   */
  unwrapKey(kek: VersionedKeyVaultKeyId, wrappedKey: Uint8Array): Promise<Uint8Array>;
}

export interface KeyVaultKekClientOptions {
  readonly credential: TokenCredential;
  /** Pipeline options (retry, timeouts) for every CryptographyClient built. */
  readonly clientOptions?: CryptographyClientOptions;
  /** Accept loopback vault URLs (the local emulator); true only in local mode. */
  readonly allowLoopback: boolean;
}

/**
 * A {@link KekClient} backed by Azure Key Vault.
 *
 * Every wrap and unwrap is a vault call. The CryptographyClient is built from a key description
 * without key material, so it never fetches the public key: fetched, it would wrap locally for
 * algorithms it can (RSA-OAEP), letting a disabled or revoked key appear to work, and it would
 * refuse unwrap locally once the key expires, which the vault itself allows (no crypto-lock).
 */
export function createKeyVaultKekClient(options: KeyVaultKekClientOptions): KekClient {
  const clients = new Map<string, CryptographyClient>();
  /** Per client, its first call while it runs: the others wait for it (see {@link call}). */
  const firstCalls = new Map<CryptographyClient, Promise<unknown>>();
  const challenged = new WeakSet<CryptographyClient>();

  /**
   * Runs `op` on the client of `kek`, letting a new client's first call go alone. The SDK's
   * challenge policy sends a client's first request without its body (to learn the challenge);
   * a request sent meanwhile may complete the challenge first, and the first is then resent with
   * the token but without its body, which the vault refuses (400 "The value parameter must be
   * base64url"): a cold instance's concurrent first unwraps would fail. Once a call has been
   * answered by the vault, the client's challenge is known and calls run concurrently.
   */
  async function call<T>(kek: KekRef, op: (client: CryptographyClient) => Promise<T>): Promise<T> {
    const client = clientFor(kek);
    while (!challenged.has(client)) {
      const first = firstCalls.get(client);
      if (first !== undefined) {
        await first.catch(() => undefined);
        continue;
      }
      const attempt = op(client);
      firstCalls.set(client, attempt);
      try {
        const result = await attempt;
        challenged.add(client);
        return result;
      } catch (err) {
        // Answered with a refusal: the challenge is done. Not answered (a network fault): the next call goes alone again.
        if (statusCodeOf(err) !== undefined) challenged.add(client);
        throw err;
      } finally {
        firstCalls.delete(client);
      }
    }
    return op(client);
  }

  function clientFor(kek: KekRef): CryptographyClient {
    const id = formatKeyVaultKeyId(kek);
    let client = clients.get(id);
    if (client === undefined) {
      const remoteOnly: KeyVaultKey = {
        id,
        name: kek.name,
        properties: {
          id,
          name: kek.name,
          vaultUrl: kek.vaultUrl,
          ...(kek.version === undefined ? {} : { version: kek.version }),
        },
      };
      client = new CryptographyClient(remoteOnly, options.credential, {
        ...options.clientOptions,
        // The challenge check wants a *.vault.azure.net host; only the loopback emulator is exempt.
        disableChallengeResourceVerification: isLoopbackUrl(kek.vaultUrl),
      });
      clients.set(id, client);
    }
    return client;
  }

  return {
    async wrapKey(kek, key) {
      let result;
      let answeredKid: unknown;
      try {
        result = await call(kek, (client) =>
          client.wrapKey(KEK_WRAP_ALGORITHM, key, {
            // The SDK's WrapResult.keyID echoes the id it was given (unversioned for "current
            // version"); the vault's own answer names the version that actually wrapped.
            onResponse: (raw) => {
              const body: unknown = raw.parsedBody;
              answeredKid = typeof body === 'object' && body !== null && 'kid' in body ? body.kid : undefined;
            },
          }),
        );
      } catch (err) {
        throw toKekError(err, 'wrapKey');
      }
      const kid = typeof answeredKid === 'string' ? answeredKid : result.keyID;
      const used =
        kid === undefined ? undefined : parseVersionedKeyVaultKeyId(kid, { allowLoopback: options.allowLoopback });
      if (used === undefined || !sameKey(used, kek) || (kek.version !== undefined && used.version !== kek.version)) {
        throw new KeyVaultUnavailableError({ cause: new Error('Key Vault answered wrapKey without the expected kid') });
      }
      return { wrappedKey: result.result, kek: used };
    },
    async unwrapKey(kek, wrappedKey) {
      try {
        return (await call(kek, (client) => client.unwrapKey(KEK_WRAP_ALGORITHM, wrappedKey))).result;
      } catch (err) {
        throw toKekError(err, 'unwrapKey');
      }
    },
  };
}
