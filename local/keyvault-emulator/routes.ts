import { KeyVaultServiceError, badParameter } from './errors.js';
import type { VaultOperation } from './operations.js';

/** A vault request resolved to an operation and its path parameters. */
export interface VaultRoute {
  operation: VaultOperation;
  /** Key name from the path, when the operation has one. */
  name?: string | undefined;
  /** Key version; `''` (empty path segment) and absent both mean "latest". */
  version?: string | undefined;
}

const CRYPTO_ACTIONS: Record<string, VaultOperation> = {
  wrapkey: 'wrapKey',
  unwrapkey: 'unwrapKey',
  encrypt: 'encrypt',
  decrypt: 'decrypt',
  sign: 'sign',
  verify: 'verify',
};

/**
 * Maps method and path to a Key Vault keys operation. Path shapes follow the REST API as the
 * official client builds them; a versionless key id yields an empty segment (`/keys/k1//wrapkey`).
 * @throws KeyVaultServiceError 404 NotFound for paths the emulator does not serve, 405 for a wrong method.
 */
export function matchVaultRoute(method: string, pathname: string): VaultRoute {
  const segments = pathname.split('/').slice(1).map(decodeSegment);
  const [collection, name, third, fourth, ...rest] = segments;
  const m = method.toUpperCase();
  if (rest.length > 0) throw notServed(pathname);

  if (collection === 'keys') {
    if (name === undefined || name === '') {
      if (third !== undefined) throw notServed(pathname);
      return m === 'GET' ? { operation: 'list' } : methodNotAllowed(m, pathname);
    }
    if (third === undefined || (third === '' && fourth === undefined)) {
      if (m === 'GET') return { operation: 'get', name };
      if (m === 'DELETE' && third === undefined) return { operation: 'delete', name };
      if (m === 'PATCH') return { operation: 'update', name };
      return methodNotAllowed(m, pathname);
    }
    if (fourth === undefined) {
      if (third.toLowerCase() === 'create') return m === 'POST' ? { operation: 'create', name } : methodNotAllowed(m, pathname);
      if (third.toLowerCase() === 'versions') return m === 'GET' ? { operation: 'listVersions', name } : methodNotAllowed(m, pathname);
      if (m === 'GET') return { operation: 'get', name, version: third };
      if (m === 'PATCH') return { operation: 'update', name, version: third };
      return methodNotAllowed(m, pathname);
    }
    const action = CRYPTO_ACTIONS[fourth.toLowerCase()];
    if (!action) throw notServed(pathname);
    return m === 'POST' ? { operation: action, name, version: third } : methodNotAllowed(m, pathname);
  }

  if (collection === 'deletedkeys') {
    if (name === undefined || name === '') {
      if (third !== undefined) throw notServed(pathname);
      return m === 'GET' ? { operation: 'listDeleted' } : methodNotAllowed(m, pathname);
    }
    if (third === undefined) {
      if (m === 'GET') return { operation: 'getDeleted', name };
      if (m === 'DELETE') return { operation: 'purge', name };
      return methodNotAllowed(m, pathname);
    }
    if (third.toLowerCase() === 'recover' && fourth === undefined) {
      return m === 'POST' ? { operation: 'recover', name } : methodNotAllowed(m, pathname);
    }
  }
  throw notServed(pathname);
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch (cause) {
    throw Object.assign(badParameter('The request URI is malformed.'), { cause });
  }
}

function notServed(pathname: string): KeyVaultServiceError {
  return new KeyVaultServiceError(404, 'NotFound', `The emulator does not serve ${pathname}.`);
}

function methodNotAllowed(method: string, pathname: string): never {
  throw new KeyVaultServiceError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}' (${pathname}).`);
}
