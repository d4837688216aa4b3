import { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import type { CipherSuite } from '@hpke/core';
import type { Clock } from '../core/clock.js';
import type { SandboxScope } from '../core/scope.js';
import type { EncryptedObjectStore } from '../storage/encrypted-object-store.js';
import { onePartition, tableRepository, type TableCodec } from '../storage/tenant-table.js';
import { cipherSuite } from './cipher-suite.js';
import { RETIRING_GRACE_MS, acceptsRequests, keyStatus, nextKeyId, planRotation, type KeyPeriod, type KeyStatus } from './key-lifecycle.js';
import { AEADS, DEFAULT_SUITE, KDFS, KEMS } from './suites.js';

/** Table of our HPKE key set: one row per key id, shared by every instance. */
export const SERVER_KEYS_TABLE = 'hpkekeys';
const PARTITION = 'server';
/**
 * The reserved scope our private keys are stored under in the key hierarchy (system KEK): not a
 * customer org (customer org ids end in `@AdobeOrg`).
 */
export const HPKE_SYSTEM_SCOPE: SandboxScope = { orgId: 'cipherflow-system', sandbox: 'hpke' };
/** How long an instance trusts its cached key set before reading the table again. */
export const KEY_SET_CACHE_MS = 60_000;
/** An unknown key id triggers at most one table read per this interval. */
const MISS_RELOAD_MS = 5_000;

/** A row of {@link SERVER_KEYS_TABLE}. */
interface ServerKeyEntity extends KeyPeriod {
  rowKey: string;
  keyId: number;
  kemId: number;
  /** Base64url of the raw public key. */
  publicKey: string;
  /** Object id of the raw private key in the encrypted object store. */
  objectId: string;
  createdAt: number;
}

/** A server key as read, with its row's ETag (a row is deleted only as it was read). */
type ServerKeyRecord = ServerKeyEntity & { readonly etag: string };

const codec: TableCodec<ServerKeyRecord, void, ServerKeyEntity, ServerKeyEntity> = {
  toEntity: (e) => ({
    rowKey: e.rowKey,
    keyId: e.keyId,
    kemId: e.kemId,
    publicKey: e.publicKey,
    objectId: e.objectId,
    createdAt: e.createdAt,
    activeFrom: e.activeFrom,
    activeUntil: e.activeUntil,
  }),
  fromEntity: (row) => ({ ...codec.toEntity(row), etag: row.etag }),
};

// Our key set is one partition, shared by every instance.
const serverKeys = (deps: ServerKeyDeps) => tableRepository(deps.table, onePartition(PARTITION), codec).in();

/** A server key as published by `GET /api-encryption/keys`. */
export interface PublishedKey {
  readonly keyId: number;
  readonly kemId: number;
  readonly kdfIds: readonly number[];
  readonly aeadIds: readonly number[];
  /** Base64url of the raw public key. */
  readonly publicKey: string;
  /** When the key becomes active (ISO 8601). */
  readonly notBefore: string;
  /** When requests to the key stop being accepted (ISO 8601): the end of its retiring grace. */
  readonly notAfter: string;
  readonly status: Exclude<KeyStatus, 'expired'>;
}

/** A server key ready to decrypt with. */
export interface LoadedServerKey extends KeyPeriod {
  readonly keyId: number;
  readonly kemId: number;
  readonly keyPair: CryptoKeyPairLike;
}

/** The library's key pair type, without naming the DOM lib. */
export type CryptoKeyPairLike = Awaited<ReturnType<CipherSuite['kem']['generateKeyPair']>>;

export interface ServerKeyDeps {
  readonly table: () => Promise<TableClient>;
  readonly objects: EncryptedObjectStore;
  readonly clock: Clock;
}

/** The process's view of our key set: cached rows and decrypted private keys. */
export interface ServerKeyRing {
  /** Keys listed to clients at the clock's now (`next`, `active`, `retiring`), newest first. */
  published(): Promise<PublishedKey[]>;
  /** The key with this id if requests to it are accepted now; never another key. */
  find(keyId: number): Promise<LoadedServerKey | undefined>;
  /** Ids of the keys requests are accepted for now. */
  acceptedIds(): Promise<number[]>;
  /** Forgets the cached rows (after a rotation in this process). */
  invalidate(): void;
}

const publicKeyOf = (e: ServerKeyRecord): Uint8Array => new Uint8Array(Buffer.from(e.publicKey, 'base64url'));

/** Builds the ring over the key table and the encrypted object store. */
export function createServerKeyRing(deps: ServerKeyDeps): ServerKeyRing {
  let rows: { at: number; entities: Promise<ServerKeyRecord[]> } | undefined;
  let lastMissReload = 0;
  const pairs = new Map<string, Promise<CryptoKeyPairLike>>();

  function load(force = false): Promise<ServerKeyRecord[]> {
    const now = Date.now();
    if (force || rows === undefined || now - rows.at > KEY_SET_CACHE_MS) {
      const entities = listKeys(deps);
      entities.catch(() => {
        if (rows?.entities === entities) rows = undefined;
      });
      rows = { at: now, entities };
    }
    return rows.entities;
  }

  function keyPair(e: ServerKeyRecord): Promise<CryptoKeyPairLike> {
    let pair = pairs.get(e.objectId);
    if (pair === undefined) {
      pair = (async () => {
        const sk = await readAll(await deps.objects.get(HPKE_SYSTEM_SCOPE, e.objectId));
        try {
          const kem = cipherSuite(DEFAULT_SUITE).kem;
          return { privateKey: await kem.deserializePrivateKey(sk), publicKey: await kem.deserializePublicKey(publicKeyOf(e)) };
        } finally {
          sk.fill(0);
        }
      })();
      pair.catch(() => pairs.delete(e.objectId));
      pairs.set(e.objectId, pair);
    }
    return pair;
  }

  async function find(keyId: number): Promise<LoadedServerKey | undefined> {
    const now = deps.clock.now();
    let entity = (await load()).find((e) => e.keyId === keyId && acceptsRequests(e, now));
    if (entity === undefined && Date.now() - lastMissReload > MISS_RELOAD_MS) {
      lastMissReload = Date.now();
      entity = (await load(true)).find((e) => e.keyId === keyId && acceptsRequests(e, now));
    }
    if (entity === undefined) return undefined;
    return { keyId: entity.keyId, kemId: entity.kemId, activeFrom: entity.activeFrom, activeUntil: entity.activeUntil, keyPair: await keyPair(entity) };
  }

  return {
    async published() {
      const now = deps.clock.now();
      return (await load())
        .map((e) => ({ e, status: keyStatus(e, now) }))
        .filter((x): x is { e: ServerKeyRecord; status: Exclude<KeyStatus, 'expired'> } => x.status !== 'expired')
        .sort((a, b) => b.e.activeFrom - a.e.activeFrom)
        .map(({ e, status }) => ({
          keyId: e.keyId,
          kemId: e.kemId,
          kdfIds: [KDFS.HKDF_SHA256.id],
          aeadIds: [AEADS.AES_256_GCM.id, AEADS.CHACHA20_POLY1305.id],
          publicKey: e.publicKey,
          notBefore: new Date(e.activeFrom).toISOString(),
          notAfter: new Date(e.activeUntil + RETIRING_GRACE_MS).toISOString(),
          status,
        }));
    },
    find,
    async acceptedIds() {
      const now = deps.clock.now();
      return (await load()).filter((e) => acceptsRequests(e, now)).map((e) => e.keyId).sort((a, b) => a - b);
    },
    invalidate() {
      rows = undefined;
    },
  };
}

async function listKeys(deps: ServerKeyDeps): Promise<ServerKeyRecord[]> {
  const out: ServerKeyRecord[] = [];
  for await (const key of serverKeys(deps).list()) out.push(key);
  return out;
}

async function readAll(stream: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  const out = new Uint8Array(Buffer.concat(chunks));
  for (const c of chunks) c.fill(0);
  return out;
}

/** What one rotation step did. */
export interface RotationResult {
  readonly created?: { readonly keyId: number; readonly activeFrom: string; readonly activeUntil: string };
  readonly dropped: readonly number[];
}

/**
 * One step of the rotation timer at the clock's now: creates the first key if none is active,
 * publishes the successor {@link NEXT_LEAD_MS} before the switch, drops keys past their grace.
 * Safe with several instances at once: a key row is inserted only if absent (and an expired row
 * is deleted only at the ETag read), so a losing instance discards its key and re-plans.
 */
export async function rotateServerKeys(deps: ServerKeyDeps, lifetimeMs: number): Promise<RotationResult> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const now = deps.clock.now();
    const keys = await listKeys(deps);
    const plan = planRotation(keys, now, lifetimeMs);
    const dropped: number[] = [];
    for (const keyId of plan.drop) {
      const row = keys.find((k) => k.keyId === keyId);
      if (row !== undefined && (await deleteRow(deps, row))) dropped.push(keyId);
    }
    if (plan.create === undefined) return { dropped };
    const live = keys.filter((k) => acceptsRequests(k, now));
    const newest = live.reduce<ServerKeyRecord | undefined>((a, k) => (a === undefined || k.activeUntil > a.activeUntil ? k : a), undefined);
    const keyId = nextKeyId(newest?.keyId, new Set(live.map((k) => k.keyId)));
    if (keyId === undefined) throw new Error('All 256 HPKE key ids are in use');
    const created = await createKey(deps, keyId, plan.create);
    if (created) {
      return {
        created: { keyId, activeFrom: new Date(plan.create.activeFrom).toISOString(), activeUntil: new Date(plan.create.activeUntil).toISOString() },
        dropped,
      };
    }
  }
  return { dropped: [] };
}

async function deleteRow(deps: ServerKeyDeps, row: ServerKeyRecord): Promise<boolean> {
  // Deleted (or changed) by another instance meanwhile: that one deletes the private key.
  if (!(await serverKeys(deps).delete(row.rowKey, row.etag))) return false;
  await deps.objects.delete(HPKE_SYSTEM_SCOPE, row.objectId);
  return true;
}

/** Inserts the key row if absent; false when another instance got there first. */
async function createKey(deps: ServerKeyDeps, keyId: number, period: KeyPeriod): Promise<boolean> {
  const kem = cipherSuite(DEFAULT_SUITE).kem;
  const pair = await kem.generateKeyPair();
  const sk = new Uint8Array(await kem.serializePrivateKey(pair.privateKey));
  const pk = new Uint8Array(await kem.serializePublicKey(pair.publicKey));
  const objectId = `hpke-server-key-${keyId}-${randomUUID()}`;
  await deps.objects.put(HPKE_SYSTEM_SCOPE, objectId, Readable.from([Buffer.from(sk)]));
  sk.fill(0);
  const entity: ServerKeyEntity = {
    rowKey: String(keyId).padStart(3, '0'),
    keyId,
    kemId: KEMS.X25519_HKDF_SHA256.id,
    publicKey: Buffer.from(pk).toString('base64url'),
    objectId,
    createdAt: deps.clock.now(),
    activeFrom: period.activeFrom,
    activeUntil: period.activeUntil,
  };
  let created;
  try {
    created = await serverKeys(deps).insertIfAbsent(entity);
  } catch (err) {
    await deps.objects.delete(HPKE_SYSTEM_SCOPE, objectId);
    throw err;
  }
  // Another instance took this key id first: our private key is never used.
  if (created === undefined) await deps.objects.delete(HPKE_SYSTEM_SCOPE, objectId);
  return created !== undefined;
}
