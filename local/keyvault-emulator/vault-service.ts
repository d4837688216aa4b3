import { KeyVaultServiceError, badParameter, keyNotFound } from './errors.js';
import type { VaultCaller } from './identity.js';
import {
  RSA_KEY_SIZES,
  encryptionAlgorithm,
  generateRsaKey,
  rsaDecrypt,
  rsaEncrypt,
  rsaSignDigest,
  rsaVerifyDigest,
  signatureAlgorithm,
} from './key-crypto.js';
import {
  RECOVERABLE_DAYS,
  keyIndex,
  newKeyVersion,
  type KeyStore,
  type RsaKeyType,
  type StoredKey,
  type StoredKeyVersion,
} from './key-store.js';
import { RBAC_ACTIONS, type VaultOperation } from './operations.js';
import type { VaultRoute } from './routes.js';

/** Key operations Key Vault accepts in `key_ops`. */
const KEY_OPS = ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey', 'import', 'export'] as const;
/** What Key Vault grants an RSA key created without `key_ops`. */
const DEFAULT_RSA_KEY_OPS = ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey'];
const KEY_NAME = /^[0-9a-zA-Z-]{1,127}$/;
const KEY_VERSION = /^[0-9a-f]{32}$/i;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;
const MAX_PAGE = 25;
const MAX_TAGS = 15;

type CryptoOperation = 'wrapKey' | 'unwrapKey' | 'encrypt' | 'decrypt' | 'sign' | 'verify';

// Key Vault refuses the private-key operations on a disabled key but still serves the public-key
// ones (observed against the live service: azure-sdk-for-python#45342).
const REFUSED_WHEN_DISABLED: ReadonlySet<CryptoOperation> = new Set(['unwrapKey', 'decrypt', 'sign']);
// nbf/exp only gate operations that create new protected data; unwrap/decrypt/verify keep working
// on an expired or not-yet-valid key so data is never crypto-locked (azure-sdk-for-net#7677; the
// product team confirmed an expired key still unwraps on the real service).
const GATED_BY_VALIDITY: ReadonlySet<CryptoOperation> = new Set(['wrapKey', 'encrypt', 'sign']);

/** An operation's HTTP answer. */
export interface VaultResult {
  status: number;
  body?: unknown;
}

/** What the emulator needs from its host to answer requests. */
export interface VaultContext {
  /** The vault URL clients use (`https://127.0.0.1:PORT`), used in `kid`s and `nextLink`s. */
  vaultUrl: string;
  store: KeyStore;
  now?: () => number;
}

/**
 * The Key Vault keys data plane: each operation checks access (RBAC), the key's state and its
 * input in the order Key Vault does, and answers in Key Vault's JSON shapes.
 */
export class VaultService {
  readonly #ctx: VaultContext;

  constructor(ctx: VaultContext) {
    this.#ctx = ctx;
  }

  #nowSeconds(): number {
    return Math.floor((this.#ctx.now?.() ?? Date.now()) / 1000);
  }

  /** Runs one routed, authenticated request. */
  async handle(route: VaultRoute, caller: VaultCaller, query: URLSearchParams, body: Record<string, unknown>): Promise<VaultResult> {
    const { operation } = route;
    if (operation === 'list') return { status: 200, body: this.#listKeys(query) };
    if (operation === 'listDeleted') return { status: 200, body: this.#listDeleted(query) };
    const name = route.name ?? '';
    if (!KEY_NAME.test(name)) throw badParameter(`The key name '${name}' is invalid: use 1-127 letters, digits and dashes.`);
    this.#authorize(caller, operation, name);
    switch (operation) {
      case 'create':
        return { status: 200, body: await this.#create(name, body) };
      case 'get':
        return { status: 200, body: this.#bundle(this.#find(name, route.version)) };
      case 'listVersions':
        return { status: 200, body: this.#listVersions(name, query) };
      case 'update':
        return { status: 200, body: await this.#update(name, route.version, body) };
      case 'delete':
        return { status: 200, body: await this.#delete(name) };
      case 'getDeleted':
        return { status: 200, body: this.#deletedBundle(name) };
      case 'purge':
        await this.#purge(name);
        return { status: 204 };
      case 'recover':
        return { status: 200, body: await this.#recover(name) };
      case 'wrapKey':
      case 'unwrapKey':
      case 'encrypt':
      case 'decrypt':
      case 'sign':
      case 'verify':
        return { status: 200, body: this.#crypto(operation, name, route.version, body) };
    }
  }

  #authorize(caller: VaultCaller, operation: VaultOperation, name: string): void {
    const key = keyIndex(name);
    const ids = [caller.oid.toLowerCase(), caller.appid.toLowerCase()];
    const denied = this.#ctx.store.state.revocations.some((r) => keyIndex(r.keyName) === key && ids.includes(r.identity.toLowerCase()));
    if (!denied) return;
    const vault = new URL(this.#ctx.vaultUrl).host;
    throw new KeyVaultServiceError(
      403,
      'Forbidden',
      'Caller is not authorized to perform action on resource.\r\n' +
        'If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n' +
        `Caller: appid=${caller.appid};oid=${caller.oid};iss=https://sts.windows.net/${caller.tenantId}/\r\n` +
        `Action: '${RBAC_ACTIONS[operation]}'\r\n` +
        `Resource: '/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/local/providers/microsoft.keyvault/vaults/emulator/keys/${name.toLowerCase()}'\r\n` +
        'Assignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\n' +
        `Vault: emulator;location=${vault}\r\n`,
      { innerCode: 'ForbiddenByRbac' },
    );
  }

  #find(name: string, version: string | undefined): { key: StoredKey; v: StoredKeyVersion } {
    const key = this.#ctx.store.get(name);
    if (!key) throw keyNotFound(name, version || undefined);
    if (!version) {
      const latest = key.versions.at(-1);
      if (!latest) throw keyNotFound(name);
      return { key, v: latest };
    }
    const v = KEY_VERSION.test(version) ? key.versions.find((x) => x.version === version.toLowerCase()) : undefined;
    if (!v) throw keyNotFound(name, version);
    return { key, v };
  }

  #kid(name: string, version?: string): string {
    return `${this.#ctx.vaultUrl}/keys/${name}${version ? `/${version}` : ''}`;
  }

  #attributes(v: StoredKeyVersion): Record<string, unknown> {
    const purgeProtection = this.#ctx.store.state.purgeProtection;
    return {
      enabled: v.enabled,
      ...(v.nbf === undefined ? {} : { nbf: v.nbf }),
      ...(v.exp === undefined ? {} : { exp: v.exp }),
      created: v.created,
      updated: v.updated,
      recoveryLevel: purgeProtection ? 'Recoverable' : 'Recoverable+Purgeable',
      recoverableDays: RECOVERABLE_DAYS,
      exportable: false,
    };
  }

  #bundle({ key, v }: { key: StoredKey; v: StoredKeyVersion }): Record<string, unknown> {
    return {
      key: { kid: this.#kid(key.name, v.version), kty: v.kty, key_ops: [...v.keyOps], n: v.n, e: v.e },
      attributes: this.#attributes(v),
      tags: { ...v.tags },
    };
  }

  async #create(name: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const index = keyIndex(name);
    if (this.#ctx.store.state.deletedKeys[index]) {
      throw new KeyVaultServiceError(
        409,
        'Conflict',
        `Key ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the key can only be recovered or purged.`,
        { innerCode: 'ObjectIsDeletedButRecoverable' },
      );
    }
    const kty = body.kty;
    if (kty !== 'RSA' && kty !== 'RSA-HSM') {
      throw badParameter(`The key type '${String(kty)}' is not supported by the emulator (RSA and RSA-HSM are).`);
    }
    const keySize = body.key_size ?? 2048;
    if (typeof keySize !== 'number' || !(RSA_KEY_SIZES as readonly number[]).includes(keySize)) {
      throw badParameter(`Invalid key size ${JSON.stringify(keySize)}; use 2048, 3072 or 4096.`);
    }
    if (body.public_exponent !== undefined && body.public_exponent !== 65537) {
      throw badParameter('Only the public exponent 65537 is supported.');
    }
    const keyOps = body.key_ops === undefined ? [...DEFAULT_RSA_KEY_OPS] : parseKeyOps(body.key_ops);
    const attributes = parseAttributes(body.attributes);
    const tags = body.tags === undefined ? {} : parseTags(body.tags);
    const material = await generateRsaKey(keySize);
    const now = this.#nowSeconds();
    const version: StoredKeyVersion = {
      version: newKeyVersion(),
      kty: kty satisfies RsaKeyType,
      keySize,
      keyOps,
      ...material,
      enabled: attributes.enabled ?? true,
      ...(typeof attributes.nbf === 'number' ? { nbf: attributes.nbf } : {}),
      ...(typeof attributes.exp === 'number' ? { exp: attributes.exp } : {}),
      created: now,
      updated: now,
      tags,
    };
    const state = this.#ctx.store.state;
    const existing = state.keys[index];
    // Generation awaited above: a concurrent create of the same name may have landed meanwhile.
    if (existing) existing.versions.push(version);
    else state.keys[index] = { name, versions: [version] };
    await this.#ctx.store.save();
    return this.#bundle({ key: state.keys[index] ?? { name, versions: [version] }, v: version });
  }

  async #update(name: string, version: string | undefined, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const found = this.#find(name, version);
    const { v } = found;
    const keyOps = body.key_ops === undefined ? undefined : parseKeyOps(body.key_ops);
    const attributes = parseAttributes(body.attributes);
    const tags = body.tags === undefined ? undefined : parseTags(body.tags);
    if (keyOps) v.keyOps = keyOps;
    if (attributes.enabled !== undefined) v.enabled = attributes.enabled;
    if (attributes.nbf !== undefined) v.nbf = attributes.nbf ?? undefined;
    if (attributes.exp !== undefined) v.exp = attributes.exp ?? undefined;
    if (tags) v.tags = tags;
    v.updated = this.#nowSeconds();
    await this.#ctx.store.save();
    return this.#bundle(found);
  }

  async #delete(name: string): Promise<Record<string, unknown>> {
    const state = this.#ctx.store.state;
    const index = keyIndex(name);
    const key = state.keys[index];
    if (!key) throw keyNotFound(name);
    const deletedDate = this.#nowSeconds();
    const entry = { key, deletedDate, scheduledPurgeDate: deletedDate + RECOVERABLE_DAYS * 24 * 3600 };
    delete state.keys[index];
    state.deletedKeys[index] = entry;
    await this.#ctx.store.save();
    return this.#deletedBundle(name);
  }

  #deletedBundle(name: string): Record<string, unknown> {
    const entry = this.#ctx.store.state.deletedKeys[keyIndex(name)];
    const latest = entry?.key.versions.at(-1);
    if (!entry || !latest) throw keyNotFound(name);
    return {
      recoveryId: `${this.#ctx.vaultUrl}/deletedkeys/${entry.key.name}`,
      deletedDate: entry.deletedDate,
      scheduledPurgeDate: entry.scheduledPurgeDate,
      ...this.#bundle({ key: entry.key, v: latest }),
    };
  }

  async #purge(name: string): Promise<void> {
    const state = this.#ctx.store.state;
    const index = keyIndex(name);
    if (!state.deletedKeys[index]) throw keyNotFound(name);
    if (state.purgeProtection) {
      throw new KeyVaultServiceError(
        403,
        'Forbidden',
        `Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed. Key: ${name}`,
      );
    }
    delete state.deletedKeys[index];
    await this.#ctx.store.save();
  }

  async #recover(name: string): Promise<Record<string, unknown>> {
    const state = this.#ctx.store.state;
    const index = keyIndex(name);
    const entry = state.deletedKeys[index];
    if (!entry) throw keyNotFound(name);
    delete state.deletedKeys[index];
    state.keys[index] = entry.key;
    await this.#ctx.store.save();
    return this.#bundle(this.#find(name, undefined));
  }

  #crypto(operation: CryptoOperation, name: string, version: string | undefined, body: Record<string, unknown>): Record<string, unknown> {
    const found = this.#find(name, version);
    const { v } = found;
    if (!v.enabled && REFUSED_WHEN_DISABLED.has(operation)) {
      throw new KeyVaultServiceError(403, 'Forbidden', `Operation ${operation} is not allowed on a disabled key.`, { innerCode: 'KeyDisabled' });
    }
    if (!v.keyOps.includes(operation)) {
      throw new KeyVaultServiceError(403, 'Forbidden', `Operation ${operation} is not permitted on this key.`, {
        innerCode: 'KeyOperationForbidden',
      });
    }
    if (GATED_BY_VALIDITY.has(operation)) {
      const now = this.#nowSeconds();
      if (v.nbf !== undefined && now < v.nbf) {
        throw new KeyVaultServiceError(403, 'Forbidden', `Operation ${operation} is not allowed on a key that is not yet valid.`, {
          innerCode: 'KeyNotYetValid',
        });
      }
      if (v.exp !== undefined && now >= v.exp) {
        throw new KeyVaultServiceError(403, 'Forbidden', `Operation ${operation} is not allowed on an expired key.`, {
          innerCode: 'KeyExpired',
        });
      }
    }
    const kid = this.#kid(found.key.name, v.version);
    const value = base64urlParam(body.value, 'value');
    switch (operation) {
      case 'wrapKey':
      case 'encrypt':
        return { kid, value: rsaEncrypt(v.privateKeyPem, encryptionAlgorithm(body.alg), value).toString('base64url') };
      case 'unwrapKey':
      case 'decrypt':
        return { kid, value: rsaDecrypt(v.privateKeyPem, encryptionAlgorithm(body.alg), value).toString('base64url') };
      case 'sign':
        return { kid, value: rsaSignDigest(v.privateKeyPem, signatureAlgorithm(body.alg), value).toString('base64url') };
      case 'verify': {
        const digest = base64urlParam(body.digest, 'digest');
        return { value: rsaVerifyDigest(v.privateKeyPem, signatureAlgorithm(body.alg), digest, value) };
      }
    }
  }

  #listKeys(query: URLSearchParams): Record<string, unknown> {
    const items = Object.values(this.#ctx.store.state.keys)
      .sort((a, b) => a.name.localeCompare(b.name))
      .flatMap((key) => {
        const latest = key.versions.at(-1);
        return latest ? [{ kid: this.#kid(key.name), attributes: this.#attributes(latest), tags: { ...latest.tags } }] : [];
      });
    return this.#page(items, query, '/keys');
  }

  #listVersions(name: string, query: URLSearchParams): Record<string, unknown> {
    const key = this.#ctx.store.get(name);
    if (!key) throw keyNotFound(name);
    const items = key.versions.map((v) => ({ kid: this.#kid(key.name, v.version), attributes: this.#attributes(v), tags: { ...v.tags } }));
    return this.#page(items, query, `/keys/${key.name}/versions`);
  }

  #listDeleted(query: URLSearchParams): Record<string, unknown> {
    const items = Object.values(this.#ctx.store.state.deletedKeys)
      .sort((a, b) => a.key.name.localeCompare(b.key.name))
      .flatMap((entry) => {
        const latest = entry.key.versions.at(-1);
        return latest
          ? [
              {
                kid: this.#kid(entry.key.name),
                attributes: this.#attributes(latest),
                tags: { ...latest.tags },
                recoveryId: `${this.#ctx.vaultUrl}/deletedkeys/${entry.key.name}`,
                deletedDate: entry.deletedDate,
                scheduledPurgeDate: entry.scheduledPurgeDate,
              },
            ]
          : [];
      });
    return this.#page(items, query, '/deletedkeys');
  }

  // Key Vault pages with `maxresults` (≤ 25) and an opaque `$skiptoken` inside `nextLink`, and
  // sends `nextLink: null` on the last page.
  #page(items: unknown[], query: URLSearchParams, path: string): Record<string, unknown> {
    const max = query.has('maxresults') ? Number(query.get('maxresults')) : MAX_PAGE;
    if (!Number.isInteger(max) || max < 1 || max > MAX_PAGE) throw badParameter('maxresults must be an integer from 1 to 25.');
    const token = query.get('$skiptoken');
    const offset = token === null ? 0 : Number(Buffer.from(token, 'base64url').toString('utf8'));
    if (!Number.isInteger(offset) || offset < 0) throw badParameter('Invalid $skiptoken.');
    const value = items.slice(offset, offset + max);
    let nextLink: string | null = null;
    if (offset + max < items.length) {
      const next = new URL(`${this.#ctx.vaultUrl}${path}`);
      next.searchParams.set('api-version', query.get('api-version') ?? '');
      next.searchParams.set('$skiptoken', Buffer.from(String(offset + max)).toString('base64url'));
      next.searchParams.set('maxresults', String(max));
      nextLink = next.toString();
    }
    return { value, nextLink };
  }
}

function parseKeyOps(value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((op): op is string => typeof op === 'string' && (KEY_OPS as readonly string[]).includes(op))) {
    throw badParameter(`key_ops must be an array of: ${KEY_OPS.join(', ')}.`);
  }
  return [...new Set(value)];
}

function parseAttributes(value: unknown): { enabled?: boolean; nbf?: number | null; exp?: number | null } {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw badParameter('attributes must be an object.');
  const a = value as Record<string, unknown>;
  const out: { enabled?: boolean; nbf?: number | null; exp?: number | null } = {};
  if (a.enabled !== undefined && a.enabled !== null) {
    if (typeof a.enabled !== 'boolean') throw badParameter('attributes.enabled must be a boolean.');
    out.enabled = a.enabled;
  }
  for (const field of ['nbf', 'exp'] as const) {
    const t = a[field];
    if (t === undefined) continue;
    if (t !== null && (typeof t !== 'number' || !Number.isInteger(t))) throw badParameter(`attributes.${field} must be seconds since the epoch.`);
    out[field] = t;
  }
  if (typeof out.nbf === 'number' && typeof out.exp === 'number' && out.exp <= out.nbf) {
    throw badParameter('The expiry time must be after the not-before time.');
  }
  return out;
}

function parseTags(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badParameter('tags must be an object.');
  const entries = Object.entries(value);
  if (entries.length > MAX_TAGS) throw badParameter(`At most ${MAX_TAGS} tags are allowed.`);
  if (!entries.every(([, v]) => typeof v === 'string')) throw badParameter('Tag values must be strings.');
  return Object.fromEntries(entries);
}

function base64urlParam(value: unknown, field: string): Buffer {
  if (typeof value !== 'string' || !BASE64URL.test(value)) throw badParameter(`The ${field} parameter must be base64url.`);
  return Buffer.from(value, 'base64url');
}
