import { constants, generateKeyPair, privateDecrypt, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { RestError } from '@azure/data-tables';
import type { KekClient } from '../../shared/vault/kek-client.js';
import { toKekError } from '../../shared/vault/kek-error.js';
import type { KekRef, VersionedKeyVaultKeyId } from '../../shared/vault/key-vault-key-id.js';

/**
 * An in-memory Key Vault for unit tests: RSA keys with versions that wrap and unwrap with
 * RSA-OAEP-256 (node:crypto, as the vault does), and a {@link KekClient} over it that fails as
 * `createKeyVaultKekClient` does. A refusal is built as the vault's answer (a `RestError` with the
 * status and `innerError` code Key Vault sends) and mapped by the real client's own `toKekError`,
 * so the codes cannot differ: KEK_NOT_FOUND (no such key or version, or deleted), KEK_DISABLED
 * (unwrap under a disabled version), KEK_ACCESS_DENIED (access revoked, the operation not in the
 * key's key_ops, a wrap outside nbf/exp), DECRYPTION_FAILED (a wrapped key that does not open),
 * KEY_VAULT_UNAVAILABLE (an injected 5xx/429/408, or a vault URL no fake serves).
 * test/contracts/kek.contract.ts runs the same tests against this and the Key Vault emulator.
 *
 * As Key Vault does, a disabled key still wraps (a public-key operation) and an expired key still
 * unwraps (no crypto-lock). Not modelled: other key types and algorithms, tags, purge, the
 * client's retries (an injected fault fails one call, not one HTTP attempt), latency.
 */

export type KekOperation = 'wrapKey' | 'unwrapKey';

export interface MemoryKeyVaultOptions {
  /** `https://{name}.vault.azure.net` (default `https://memory-kek.vault.azure.net`). */
  readonly url?: string;
  /** RSA modulus bits of new keys (default 2048: the contract does not depend on the size, and keys are made fast). */
  readonly modulusLength?: 2048 | 3072 | 4096;
  /** Epoch milliseconds, for `notBefore`/`expiresOn` (default `Date.now`). */
  readonly now?: () => number;
}

export interface MemoryKeyOptions {
  /** The key's key_ops (default both). */
  readonly keyOps?: readonly KekOperation[];
}

export interface KeyVersionAttributes {
  readonly enabled?: boolean;
  readonly notBefore?: Date | null;
  readonly expiresOn?: Date | null;
}

/** An injected failure: the next `count` matching calls answer `status` (503 by default). */
export interface KekFault {
  readonly status?: number;
  readonly count?: number;
  readonly operations?: readonly KekOperation[];
}

interface KeyVersion {
  readonly version: string;
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
  keyOps: readonly KekOperation[];
  enabled: boolean;
  notBefore: number | undefined;
  expiresOn: number | undefined;
}

interface StoredKey {
  readonly name: string;
  readonly versions: KeyVersion[];
}

const generateRsa = promisify(generateKeyPair);
const OAEP = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' } as const;
const SHA256_BYTES = 32;

/** One vault: its keys, access and faults. `client` is the app identity's {@link KekClient} over it. */
export class MemoryKeyVault {
  readonly url: string;
  /** The app's client: wraps and unwraps through this vault only. */
  readonly client: KekClient;
  readonly #modulusLength: number;
  readonly #now: () => number;
  readonly #keys = new Map<string, StoredKey>();
  readonly #deleted = new Map<string, StoredKey>();
  readonly #revoked = new Set<string>();
  readonly #faults: { status: number; remaining: number; operations: readonly KekOperation[] | undefined }[] = [];
  readonly #counts = new Map<KekOperation, number>();

  constructor(options: MemoryKeyVaultOptions = {}) {
    this.url = new URL(options.url ?? 'https://memory-kek.vault.azure.net').origin;
    this.#modulusLength = options.modulusLength ?? 2048;
    this.#now = options.now ?? Date.now;
    this.client = createMemoryKekClient([this]);
  }

  /** The unversioned reference to key `name` (wraps under its current version). */
  ref(name: string): KekRef {
    return { vaultUrl: this.url, name };
  }

  /** Creates key `name`, or a new current version of it when it exists (as Key Vault's createKey does). */
  async createKey(name: string, options: MemoryKeyOptions = {}): Promise<VersionedKeyVaultKeyId> {
    if (this.#deleted.has(name.toLowerCase())) throw new Error(`Key ${name} is deleted but recoverable; recover it first`);
    const { publicKey, privateKey } = await generateRsa('rsa', { modulusLength: this.#modulusLength });
    const version = randomBytes(16).toString('hex');
    const key = this.#keys.get(name.toLowerCase()) ?? { name, versions: [] };
    key.versions.push({ version, publicKey, privateKey, keyOps: options.keyOps ?? ['wrapKey', 'unwrapKey'], enabled: true, notBefore: undefined, expiresOn: undefined });
    this.#keys.set(name.toLowerCase(), key);
    return { vaultUrl: this.url, name: key.name, version };
  }

  /** A new current version of an existing key (what rotation does); older versions keep unwrapping. */
  async rotateKey(name: string): Promise<VersionedKeyVaultKeyId> {
    const key = this.#keys.get(name.toLowerCase());
    if (key === undefined) throw new Error(`No key ${name} to rotate`);
    return this.createKey(name, { keyOps: key.versions.at(-1)?.keyOps ?? ['wrapKey', 'unwrapKey'] });
  }

  /** Changes one version's attributes (the current version when `version` is absent), like updateKeyProperties. */
  setAttributes(name: string, attributes: KeyVersionAttributes, version?: string): void {
    const v = this.#version(name, version);
    if (attributes.enabled !== undefined) v.enabled = attributes.enabled;
    if (attributes.notBefore !== undefined) v.notBefore = attributes.notBefore?.getTime();
    if (attributes.expiresOn !== undefined) v.expiresOn = attributes.expiresOn?.getTime();
  }

  /** Soft-deletes a key: every version answers KEK_NOT_FOUND until it is recovered. */
  deleteKey(name: string): void {
    const key = this.#keys.get(name.toLowerCase());
    if (key === undefined) throw new Error(`No key ${name} to delete`);
    this.#keys.delete(name.toLowerCase());
    this.#deleted.set(name.toLowerCase(), key);
  }

  recoverKey(name: string): void {
    const key = this.#deleted.get(name.toLowerCase());
    if (key === undefined) throw new Error(`No deleted key ${name} to recover`);
    this.#deleted.delete(name.toLowerCase());
    this.#keys.set(name.toLowerCase(), key);
  }

  /** Takes the app identity's access to key `name` away (a role assignment removed): KEK_ACCESS_DENIED. */
  revokeAccess(name: string): void {
    this.#revoked.add(name.toLowerCase());
  }

  restoreAccess(name: string): void {
    this.#revoked.delete(name.toLowerCase());
  }

  /** Makes the next matching calls fail with `status` (503 by default): an outage, throttling. */
  injectFault(fault: KekFault = {}): void {
    this.#faults.push({ status: fault.status ?? 503, remaining: fault.count ?? 1, operations: fault.operations });
  }

  clearFaults(): void {
    this.#faults.length = 0;
  }

  /** Wraps and unwraps asked of this vault, failed ones included. */
  requestCounts(): Partial<Record<KekOperation, number>> {
    return Object.fromEntries(this.#counts);
  }

  resetRequestCounts(): void {
    this.#counts.clear();
  }

  /** @internal One vault call, as Key Vault answers it. @throws RestError as the SDK reports the answer. */
  serve(operation: KekOperation, name: string, version: string | undefined, value: Uint8Array): { kid: VersionedKeyVaultKeyId; result: Uint8Array } {
    this.#counts.set(operation, (this.#counts.get(operation) ?? 0) + 1);
    this.#takeFault(operation);
    if (this.#revoked.has(name.toLowerCase())) throw vaultError(403, 'Forbidden', 'Caller is not authorized to perform action on resource.', 'ForbiddenByRbac');
    const key = this.#keys.get(name.toLowerCase());
    const v = version === undefined ? key?.versions.at(-1) : key?.versions.find((x) => x.version === version.toLowerCase());
    if (key === undefined || v === undefined) throw vaultError(404, 'KeyNotFound', `A key with (name/id) ${name}${version === undefined ? '' : `/${version}`} was not found in this key vault.`);
    // Key Vault refuses the private-key operation on a disabled key but still serves the public one.
    if (!v.enabled && operation === 'unwrapKey') throw vaultError(403, 'Forbidden', `Operation ${operation} is not allowed on a disabled key.`, 'KeyDisabled');
    if (!v.keyOps.includes(operation)) throw vaultError(403, 'Forbidden', `Operation ${operation} is not permitted on this key.`, 'KeyOperationForbidden');
    // nbf/exp gate only what creates new protected data: an expired key still unwraps.
    if (operation === 'wrapKey') {
      const now = this.#now();
      if (v.notBefore !== undefined && now < v.notBefore) throw vaultError(403, 'Forbidden', 'Operation wrapKey is not allowed on a key that is not yet valid.', 'KeyNotYetValid');
      if (v.expiresOn !== undefined && now >= v.expiresOn) throw vaultError(403, 'Forbidden', 'Operation wrapKey is not allowed on an expired key.', 'KeyExpired');
    }
    const kid = { vaultUrl: this.url, name: key.name, version: v.version };
    if (operation === 'wrapKey') {
      if (value.length > this.#modulusLength / 8 - 2 * SHA256_BYTES - 2) throw vaultError(400, 'BadParameter', 'The value is too long for the key and algorithm.');
      return { kid, result: new Uint8Array(publicEncrypt({ key: v.publicKey, ...OAEP }, value)) };
    }
    try {
      return { kid, result: new Uint8Array(privateDecrypt({ key: v.privateKey, ...OAEP }, value)) };
    } catch {
      // One opaque answer for every failure, as the vault gives (no padding oracle).
      throw vaultError(400, 'BadParameter', 'Bad Parameter');
    }
  }

  #version(name: string, version: string | undefined): KeyVersion {
    const key = this.#keys.get(name.toLowerCase());
    const v = version === undefined ? key?.versions.at(-1) : key?.versions.find((x) => x.version === version.toLowerCase());
    if (v === undefined) throw new Error(`No key ${name}${version === undefined ? '' : ` version ${version}`}`);
    return v;
  }

  #takeFault(operation: KekOperation): void {
    const index = this.#faults.findIndex((f) => f.operations === undefined || f.operations.includes(operation));
    const fault = this.#faults[index];
    if (fault === undefined) return;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.#faults.splice(index, 1);
    throw vaultError(fault.status, fault.status === 429 ? 'Throttled' : 'ServiceUnavailable', `Injected fault: ${operation} answers ${fault.status}.`);
  }
}

/**
 * A {@link KekClient} over one or more in-memory vaults (the system vault and customers' vaults,
 * reached by one app identity). A key id naming another vault fails as an unreachable host does:
 * KEY_VAULT_UNAVAILABLE.
 */
export function createMemoryKekClient(vaults: readonly MemoryKeyVault[]): KekClient {
  function call(operation: KekOperation, kek: KekRef, value: Uint8Array) {
    const vault = vaults.find((v) => v.url.toLowerCase() === kek.vaultUrl.toLowerCase());
    try {
      if (vault === undefined) throw new RestError(`getaddrinfo ENOTFOUND ${kek.vaultUrl}`, { code: 'ENOTFOUND' });
      return vault.serve(operation, kek.name, kek.version, value);
    } catch (err) {
      throw toKekError(err, operation);
    }
  }
  return {
    async wrapKey(kek, key) {
      await settle();
      const { kid, result } = call('wrapKey', kek, key);
      return { wrappedKey: result, kek: kid };
    },
    async unwrapKey(kek, wrappedKey) {
      await settle();
      return call('unwrapKey', kek, wrappedKey).result;
    },
  };
}

/** One microtask: callers that started together interleave, as they would over the network. */
function settle(): Promise<void> {
  return Promise.resolve();
}

/** Key Vault's error answer as `@azure/keyvault-keys` reports it (`details.error.innerError.code`). */
function vaultError(status: number, code: string, message: string, innerCode?: string): RestError {
  const error = { code, message, ...(innerCode === undefined ? {} : { innerError: { code: innerCode } }) };
  return Object.assign(new RestError(message, { statusCode: status, code }), { details: { error } });
}
