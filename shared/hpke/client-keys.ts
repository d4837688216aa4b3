import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';
import type { Clock } from '../core/clock.js';
import { assertOrgId, type OrgScope } from '../core/scope.js';
import { HpkeNoClientKeyError, HpkeUnsupportedSuiteError, NotFoundError, ValidationError } from '../errors.js';
import { byOrg, tableRepository, type TableCodec } from '../storage/tenant-table.js';
import type { ClientKeyCache } from './client-key-cache.js';
import { validateClientPublicKey } from './client-public-key.js';
import { KEMS, kemById } from './suites.js';

/** Table of the keys responses are encrypted to: partition = org id, row = key id. */
export const CLIENT_KEYS_TABLE = 'hpkeclientkeys';
/**
 * A replaced or deleted key id takes a new key only after this long, so a response encrypted to
 * the old key (a request may run this long) is never undecryptable because its key id moved.
 */
export const CLIENT_KEY_REPLACE_DELAY_MS = 300_000;

/** `PUT /api-encryption/client-keys/{keyId}`. */
export const PutClientKeyRequest = z.strictObject({
  kemId: z.union([z.literal(KEMS.X25519_HKDF_SHA256.id), z.literal(KEMS.P256_HKDF_SHA256.id)]),
  publicKey: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, 'base64url without padding'),
});
export type PutClientKeyRequest = z.output<typeof PutClientKeyRequest>;

/** A client key as listed. */
export interface ClientKey {
  readonly keyId: number;
  readonly kemId: number;
  readonly publicKey: string;
  readonly createdTime: string;
  /** Present while a replacement waits for the old key's responses to drain. */
  readonly pending?: { readonly kemId: number; readonly publicKey: string; readonly effectiveTime: string };
}

/** A key a response is encrypted to. */
export interface ResolvedClientKey {
  readonly keyId: number;
  readonly kemId: number;
  readonly publicKey: Uint8Array;
}

/** A row of {@link CLIENT_KEYS_TABLE}: the record is the row itself (its columns are the key's state). */
interface ClientKeyEntity {
  rowKey: string;
  keyId: number;
  status: 'active' | 'deleted';
  kemId?: number;
  publicKey?: string;
  /** When the current key became usable (epoch ms). */
  since?: number;
  deletedAt?: number;
  pendingKemId?: number;
  pendingPublicKey?: string;
  pendingFrom?: number;
}

export interface ClientKeyDeps {
  readonly table: () => Promise<TableClient>;
  readonly clock: Clock;
  /** The process's cache of resolved keys (absent: every resolution reads the table). */
  readonly cache?: ClientKeyCache<ResolvedClientKey>;
}

const rowKey = (keyId: number): string => String(keyId).padStart(3, '0');

type StoredClientKey = ClientKeyEntity & { readonly etag: string };

const codec: TableCodec<StoredClientKey, OrgScope, ClientKeyEntity, ClientKeyEntity> = {
  toEntity: (e) => ({
    rowKey: rowKey(e.keyId),
    keyId: e.keyId,
    status: e.status,
    ...(e.kemId === undefined ? {} : { kemId: e.kemId }),
    ...(e.publicKey === undefined ? {} : { publicKey: e.publicKey }),
    ...(e.since === undefined ? {} : { since: e.since }),
    ...(e.deletedAt === undefined ? {} : { deletedAt: e.deletedAt }),
    ...(e.pendingKemId === undefined ? {} : { pendingKemId: e.pendingKemId }),
    ...(e.pendingPublicKey === undefined ? {} : { pendingPublicKey: e.pendingPublicKey }),
    ...(e.pendingFrom === undefined ? {} : { pendingFrom: e.pendingFrom }),
  }),
  fromEntity: (row) => ({ ...codec.toEntity(row), etag: row.etag }),
};

/** The org's client keys: partition = org id (checked), row = the key id, zero-padded. */
const clientKeysOf = (table: TableClient, orgId: string) => tableRepository(table, byOrg, codec).in({ orgId });

/** @throws INVALID_REQUEST unless `raw` is a key id 0..255. */
export function parseClientKeyId(raw: string): number {
  if (!/^\d{1,3}$/.test(raw) || Number(raw) > 255) {
    throw new ValidationError('The key id must be an integer 0..255', [{ field: 'params.keyId', message: 'Must be 0..255' }]);
  }
  return Number(raw);
}

/** The key in effect at `now`: a pending replacement once its time has come, else the current one. */
function effective(e: ClientKeyEntity, now: number): ResolvedClientKey | undefined {
  if (e.pendingKemId !== undefined && e.pendingPublicKey !== undefined && e.pendingFrom !== undefined && now >= e.pendingFrom) {
    return { keyId: e.keyId, kemId: e.pendingKemId, publicKey: new Uint8Array(Buffer.from(e.pendingPublicKey, 'base64url')) };
  }
  if (e.status === 'active' && e.kemId !== undefined && e.publicKey !== undefined) {
    return { keyId: e.keyId, kemId: e.kemId, publicKey: new Uint8Array(Buffer.from(e.publicKey, 'base64url')) };
  }
  return undefined;
}

function since(e: ClientKeyEntity, now: number): number {
  return e.pendingFrom !== undefined && now >= e.pendingFrom ? e.pendingFrom : (e.since ?? 0);
}

/**
 * Registers (or replaces) the org's client key `keyId` after validating it. A new id is usable at
 * once (201); a replaced or recently deleted id takes the new key only after
 * {@link CLIENT_KEY_REPLACE_DELAY_MS} (202, `pending.effectiveTime`).
 * @throws HPKE_INVALID_PUBLIC_KEY, HPKE_UNSUPPORTED_SUITE, INVALID_REQUEST
 */
export async function putClientKey(deps: ClientKeyDeps, orgId: string, keyId: number, input: PutClientKeyRequest): Promise<{ status: 200 | 201 | 202; key: ClientKey }> {
  const kem = kemById(input.kemId);
  if (kem === undefined) throw new HpkeUnsupportedSuiteError('kemId must be 32 (X25519) or 16 (P-256)');
  const raw = new Uint8Array(Buffer.from(input.publicKey, 'base64url'));
  validateClientPublicKey(kem, raw);
  const publicKey = Buffer.from(raw).toString('base64url');
  const keys = clientKeysOf(await deps.table(), orgId);
  const now = deps.clock.now();
  const existing = await keys.find(rowKey(keyId));
  const current = existing === undefined ? undefined : effective(existing, now);
  if (existing === undefined) {
    const entity: ClientKeyEntity = { rowKey: rowKey(keyId), keyId, status: 'active', kemId: kem.id, publicKey, since: now };
    await keys.insert(entity);
    deps.cache?.invalidate(orgId);
    return { status: 201, key: toClientKey(entity, now) };
  }
  if (current !== undefined && current.kemId === kem.id && Buffer.from(current.publicKey).toString('base64url') === publicKey && existing.pendingFrom === undefined) {
    return { status: 200, key: toClientKey(existing, now) };
  }
  // Fold a pending key whose time has come into the current one before planning the next change.
  const base: ClientKeyEntity = { rowKey: rowKey(keyId), keyId, status: current === undefined ? 'deleted' : 'active' };
  if (current !== undefined) Object.assign(base, { kemId: current.kemId, publicKey: Buffer.from(current.publicKey).toString('base64url'), since: since(existing, now) });
  if (existing.deletedAt !== undefined) base.deletedAt = existing.deletedAt;
  const drainedAt = current === undefined ? (existing.deletedAt ?? 0) + CLIENT_KEY_REPLACE_DELAY_MS : now + CLIENT_KEY_REPLACE_DELAY_MS;
  const entity: ClientKeyEntity =
    drainedAt <= now
      ? { rowKey: rowKey(keyId), keyId, status: 'active', kemId: kem.id, publicKey, since: now }
      : { ...base, pendingKemId: kem.id, pendingPublicKey: publicKey, pendingFrom: drainedAt };
  await replaceAsRead(keys, entity, existing.etag);
  deps.cache?.invalidate(orgId);
  return { status: drainedAt <= now ? 201 : 202, key: toClientKey(entity, now) };
}

/** The org's client keys in effect (and pending replacements). */
export async function listClientKeys(deps: ClientKeyDeps, orgId: string): Promise<ClientKey[]> {
  const now = deps.clock.now();
  const keys: ClientKey[] = [];
  for await (const e of clientKeysOf(await deps.table(), orgId).list()) {
    if (effective(e, now) !== undefined || e.pendingFrom !== undefined) keys.push(toClientKey(e, now));
  }
  return keys.sort((a, b) => a.keyId - b.keyId);
}

/** Deletes a client key (the id stays reserved for {@link CLIENT_KEY_REPLACE_DELAY_MS}). @throws NOT_FOUND */
export async function deleteClientKey(deps: ClientKeyDeps, orgId: string, keyId: number): Promise<void> {
  const keys = clientKeysOf(await deps.table(), orgId);
  const now = deps.clock.now();
  const existing = await keys.find(rowKey(keyId));
  if (existing === undefined || (effective(existing, now) === undefined && existing.pendingFrom === undefined)) {
    throw new NotFoundError(`Client key ${keyId} does not exist`);
  }
  await replaceAsRead(keys, { rowKey: existing.rowKey, keyId, status: 'deleted', deletedAt: now }, existing.etag);
  deps.cache?.invalidate(orgId);
}

/** Replaces a key's row only as it was read; a change made meanwhile (another PUT or DELETE) fails this one. */
async function replaceAsRead(keys: ReturnType<typeof clientKeysOf>, entity: ClientKeyEntity, etag: string): Promise<void> {
  if ((await keys.replace(entity, etag)) === undefined) throw new Error('The client key changed while it was being written');
}

/**
 * The key a response to `orgId` is encrypted to: the one named by `x-hpke-client-key-id`, else the
 * newest in effect. With `deps.cache`, answered from what this instance read up to
 * `CLIENT_KEY_CACHE_MS` ago (client-key-cache.ts says what that means for changes made elsewhere).
 * @throws HPKE_NO_CLIENT_KEY when there is none (or not the one named).
 */
export async function resolveClientKey(deps: ClientKeyDeps, orgId: string, keyId: number | undefined): Promise<ResolvedClientKey> {
  const now = deps.clock.now();
  const partitionKey = assertOrgId(orgId);
  if (deps.cache === undefined) return (await readClientKey(deps, partitionKey, keyId, now)).value;
  return deps.cache.get(partitionKey, keyId, now, () => readClientKey(deps, partitionKey, keyId, now));
}

/** {@link resolveClientKey} from the table, with the time a pending replacement changes the answer. */
async function readClientKey(deps: ClientKeyDeps, orgId: string, keyId: number | undefined, now: number): Promise<{ value: ResolvedClientKey; changesAt?: number }> {
  const keys = clientKeysOf(await deps.table(), orgId);
  const changesAt = (e: ClientKeyEntity): { changesAt?: number } => (e.pendingFrom !== undefined && e.pendingFrom > now ? { changesAt: e.pendingFrom } : {});
  if (keyId !== undefined) {
    const e = await keys.find(rowKey(keyId));
    const key = e === undefined ? undefined : effective(e, now);
    if (e !== undefined && key !== undefined) return { value: key, ...changesAt(e) };
    throw new HpkeNoClientKeyError(`The organization has no client key ${keyId}`);
  }
  let best: { key: ResolvedClientKey; since: number } | undefined;
  let next: number | undefined;
  for await (const e of keys.list()) {
    const key = effective(e, now);
    if (key !== undefined && (best === undefined || since(e, now) > best.since)) best = { key, since: since(e, now) };
    const at = changesAt(e).changesAt;
    if (at !== undefined && (next === undefined || at < next)) next = at;
  }
  if (best === undefined) throw new HpkeNoClientKeyError();
  return { value: best.key, ...(next === undefined ? {} : { changesAt: next }) };
}

function toClientKey(e: ClientKeyEntity, now: number): ClientKey {
  const key = effective(e, now);
  return {
    keyId: e.keyId,
    kemId: key?.kemId ?? e.pendingKemId ?? 0,
    publicKey: key === undefined ? '' : Buffer.from(key.publicKey).toString('base64url'),
    createdTime: new Date(since(e, now)).toISOString(),
    ...(e.pendingFrom !== undefined && now < e.pendingFrom && e.pendingKemId !== undefined && e.pendingPublicKey !== undefined
      ? { pending: { kemId: e.pendingKemId, publicKey: e.pendingPublicKey, effectiveTime: new Date(e.pendingFrom).toISOString() } }
      : {}),
  };
}
