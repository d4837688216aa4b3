import { ValidationError } from '../errors.js';
import { isLoopbackUrl } from '../core/loopback.js';

/** A Key Vault key, by vault, name and (optionally) version: `https://{vault}/keys/{name}[/{version}]`. */
export interface KeyVaultKeyId {
  /** `https://{host}` (with the port for a loopback emulator), no trailing slash. */
  readonly vaultUrl: string;
  readonly name: string;
  /** Absent: the key's current version. */
  readonly version?: string;
}

/** A key id that names one exact version, as recorded beside everything it wrapped. */
export type VersionedKeyVaultKeyId = KeyVaultKeyId & { readonly version: string };

/** The key-encryption key to wrap with: a Key Vault key, versioned or not. */
export type KekRef = KeyVaultKeyId;

export interface ParseKeyVaultKeyIdOptions {
  /** Accept `https://127.0.0.1:PORT/...` (the local emulator); only ever true in local mode. */
  readonly allowLoopback?: boolean;
}

// Vault and Managed HSM hosts of the Azure clouds; a key id elsewhere would send our token (and
// the wrapped keys) to a host that is not a Key Vault.
const VAULT_HOST =
  /^[a-z0-9](?:[a-z0-9-]{1,22}[a-z0-9])\.(?:vault\.azure\.net|managedhsm\.azure\.net|vault\.azure\.cn|vault\.usgovcloudapi\.net|vault\.microsoftazure\.de)$/;
const KEY_NAME = /^[0-9A-Za-z-]{1,127}$/;
const KEY_VERSION = /^[0-9A-Fa-f]{32}$/;

/**
 * Parses a Key Vault key identifier (`kid`). Pure; accepts only `https`, a Key Vault or Managed
 * HSM host (or loopback when allowed), no credentials, query or fragment, and exactly
 * `/keys/{name}` or `/keys/{name}/{version}`.
 *
 * @throws INVALID_REQUEST when the value is not such an identifier (the message does not echo it).
 */
export function parseKeyVaultKeyId(value: string, options: ParseKeyVaultKeyIdOptions = {}): KeyVaultKeyId {
  let url: URL;
  try {
    url = new URL(value);
  } catch (cause) {
    throw invalid('it is not a URL', cause);
  }
  if (url.protocol !== 'https:') throw invalid('it must use https');
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw invalid('it must not carry credentials, a query or a fragment');
  }
  const loopback = isLoopbackUrl(url.href);
  if (loopback ? options.allowLoopback !== true : !VAULT_HOST.test(url.hostname) || url.port !== '') {
    throw invalid('its host is not a Key Vault');
  }
  const segments = url.pathname.split('/').slice(1);
  const [collection, name, version, ...rest] = segments;
  if (collection !== 'keys' || name === undefined || !KEY_NAME.test(name) || rest.length > 0) {
    throw invalid('its path must be /keys/{name}[/{version}]');
  }
  if (version !== undefined && !KEY_VERSION.test(version)) throw invalid('its version is malformed');
  return { vaultUrl: url.origin, name, ...(version === undefined ? {} : { version: version.toLowerCase() }) };
}

/** Parses a key id that must name a version (a `kid` Key Vault returned). @throws INVALID_REQUEST */
export function parseVersionedKeyVaultKeyId(value: string, options: ParseKeyVaultKeyIdOptions = {}): VersionedKeyVaultKeyId {
  const id = parseKeyVaultKeyId(value, options);
  if (id.version === undefined) throw invalid('it must name a key version');
  return { ...id, version: id.version };
}

/** `https://{vault}/keys/{name}[/{version}]`. */
export function formatKeyVaultKeyId(id: KeyVaultKeyId): string {
  return `${id.vaultUrl}/keys/${id.name}${id.version === undefined ? '' : `/${id.version}`}`;
}

/** True when both name the same key (vault and name); versions are not compared. */
export function sameKey(a: KeyVaultKeyId, b: KeyVaultKeyId): boolean {
  return a.vaultUrl.toLowerCase() === b.vaultUrl.toLowerCase() && a.name.toLowerCase() === b.name.toLowerCase();
}

function invalid(reason: string, cause?: unknown): ValidationError {
  return new ValidationError(`Not a Key Vault key identifier: ${reason}`, [], cause === undefined ? {} : { cause });
}
