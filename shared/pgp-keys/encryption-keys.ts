import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { z } from 'zod';
import type { Tenant } from '../auth/tenant.js';
import { KeyInUseError, NotFoundError } from '../errors.js';
import { DEFAULT_KEY_EXPIRY_DAYS, MAX_KEY_EXPIRY_DAYS, MIN_KEY_EXPIRY_DAYS } from '../pgp/config.js';
import { privateKeyPool, type PrivateKeyPool } from '../pgp/private-key-pool.js';
import type { EncryptedObjectStore } from '../storage/encrypted-object-store.js';
import { findTenantEntity, tenantPartitionKey, type TableFactory } from '../storage/tenant-table.js';
import { systemClock, type Clock } from '../core/clock.js';

export const ENCRYPTION_KEYS_TABLE = 'encryptionkeys';

/** Passphrases are the customer's; bounded so a body cannot smuggle megabytes into a key file. */
const MAX_PASSPHRASE_LENGTH = 1024;

/** `POST /data/foundation/connectors/encryption/keys` (Adobe's body, plus `expiryDays` and `keyType`). */
export const CreateEncryptionKeyRequest = z.strictObject({
  name: z.string().trim().min(1).max(256).optional(),
  encryptionAlgorithm: z.enum(['PGP', 'GPG']),
  params: z.strictObject({
    passPhrase: z.string().min(1).max(MAX_PASSPHRASE_LENGTH),
    expiryDays: z.number().int().min(MIN_KEY_EXPIRY_DAYS).max(MAX_KEY_EXPIRY_DAYS).optional(),
    keyType: z.enum(['RSA', 'Curve25519']).optional(),
  }),
});
export type CreateEncryptionKeyRequest = z.output<typeof CreateEncryptionKeyRequest>;

export type EncryptionKeyStatus = 'Active' | 'Expired';

/** An encryption key as the API shows it: never the private key or the passphrase. */
export interface EncryptionKey {
  readonly name: string;
  readonly encryptionAlgorithm: 'PGP' | 'GPG';
  readonly publicKeyId: string;
  /** Base64 of the ASCII-armored public key, as Adobe returns it. */
  readonly publicKey: string;
  readonly keyType: 'Curve25519' | 'RSA';
  readonly fingerprint: string;
  /** Unix seconds, as a string (Adobe's shape). */
  readonly expiryTime: string;
  readonly createdTime: string;
  readonly status: EncryptionKeyStatus;
}

/** What decryption needs; only ever handed to the ingestion, never to an endpoint. */
export interface DecryptionKey {
  readonly publicKeyId: string;
  readonly privateKeyArmored: string;
  readonly passphrase: string;
  readonly keyIds: readonly string[];
  readonly expiresAt: Date;
}

export interface EncryptionKeyDeps {
  readonly tables: TableFactory;
  readonly objects: EncryptedObjectStore;
  readonly clock?: Clock;
  /** Where key pairs are generated (default the process's private-key worker pool). */
  readonly privateKeys?: Pick<PrivateKeyPool, 'generateKeyPair'>;
  /** Ids of the active flows that decrypt with a key (deleting such a key is refused). */
  readonly flowsUsingKey: (tenant: Tenant, publicKeyId: string) => Promise<readonly string[]>;
}

interface EncryptionKeyEntity {
  partitionKey: string;
  rowKey: string;
  name: string;
  encryptionAlgorithm: 'PGP' | 'GPG';
  keyType: 'Curve25519' | 'RSA';
  publicKeyArmored: string;
  fingerprint: string;
  keyIds: string;
  createdAt: number;
  expiresAt: number;
  status: 'active' | 'deleted';
}

// The private key and the passphrase are two objects, each under its own data key: reading one
// does not give the other.
const privateKeyObject = (id: string) => `pgp-key.${id}.private`;
const passphraseObject = (id: string) => `pgp-key.${id}.passphrase`;

/**
 * Creates a PGP key pair for the caller's sandbox: the public key is returned; the private key
 * and the passphrase are stored separately, each envelope-encrypted, and never returned.
 * Generation runs in the private-key worker pool; when every worker is busy and enough requests
 * already wait, the call is refused at once.
 * @throws KEY_VAULT_UNAVAILABLE, KEK_* when the sandbox root key cannot be used.
 * @throws SERVER_BUSY when the private-key worker pool is full.
 */
export async function createEncryptionKey(
  deps: EncryptionKeyDeps,
  tenant: Tenant,
  input: CreateEncryptionKeyRequest,
): Promise<EncryptionKey> {
  const now = new Date((deps.clock ?? systemClock).now());
  const keyType = input.params.keyType ?? 'Curve25519';
  const publicKeyId = randomUUID();
  const pair = await (deps.privateKeys ?? privateKeyPool()).generateKeyPair(
    {
      name: input.name ?? `cipherflow ${tenant.orgId}/${tenant.sandbox}`,
      passphrase: input.params.passPhrase,
      keyType: keyType === 'RSA' ? 'rsa4096' : 'curve25519',
      expiryDays: input.params.expiryDays ?? DEFAULT_KEY_EXPIRY_DAYS,
      now,
    },
    'refuse',
  );
  await deps.objects.put(tenant, privateKeyObject(publicKeyId), Readable.from([Buffer.from(pair.privateKeyArmored)]));
  await deps.objects.put(tenant, passphraseObject(publicKeyId), Readable.from([Buffer.from(input.params.passPhrase)]));
  const entity: EncryptionKeyEntity = {
    partitionKey: tenantPartitionKey(tenant),
    rowKey: publicKeyId,
    name: input.name ?? publicKeyId,
    encryptionAlgorithm: input.encryptionAlgorithm,
    keyType,
    publicKeyArmored: pair.publicKeyArmored,
    fingerprint: pair.fingerprint,
    keyIds: JSON.stringify(pair.keyIds),
    createdAt: pair.createdAt.getTime(),
    expiresAt: pair.expiresAt.getTime(),
    status: 'active',
  };
  // Written last: a key is listed only once both secrets are stored.
  const table = await deps.tables(ENCRYPTION_KEYS_TABLE);
  await table.createEntity(entity);
  return toEncryptionKey(entity, now);
}

/** The sandbox's keys (several may be active at once: rotation with overlap). */
export async function listEncryptionKeys(deps: EncryptionKeyDeps, tenant: Tenant): Promise<EncryptionKey[]> {
  const table = await deps.tables(ENCRYPTION_KEYS_TABLE);
  const now = new Date((deps.clock ?? systemClock).now());
  const keys: EncryptionKey[] = [];
  const entities = table.listEntities<EncryptionKeyEntity>({
    queryOptions: { filter: `PartitionKey eq '${escapeOData(tenantPartitionKey(tenant))}' and status eq 'active'` },
  });
  for await (const entity of entities) keys.push(toEncryptionKey(entity, now));
  return keys.sort((a, b) => Number(b.createdTime) - Number(a.createdTime));
}

/** @throws NOT_FOUND when the key is not in the caller's sandbox (or was deleted). */
export async function getEncryptionKey(deps: EncryptionKeyDeps, tenant: Tenant, publicKeyId: string): Promise<EncryptionKey> {
  return toEncryptionKey(await readEntity(deps, tenant, publicKeyId), new Date((deps.clock ?? systemClock).now()));
}

/**
 * Deletes a key and its stored secrets.
 * @throws NOT_FOUND; KEY_IN_USE while an active flow decrypts with it.
 */
export async function deleteEncryptionKey(deps: EncryptionKeyDeps, tenant: Tenant, publicKeyId: string): Promise<void> {
  const entity = await readEntity(deps, tenant, publicKeyId);
  const flows = await deps.flowsUsingKey(tenant, publicKeyId);
  if (flows.length > 0) {
    throw new KeyInUseError(`The key is used by active dataflow(s) ${flows.join(', ')}; delete them first`);
  }
  const table = await deps.tables(ENCRYPTION_KEYS_TABLE);
  // Marked deleted first, so a crash between the steps never leaves a listed key without secrets.
  await table.updateEntity({ partitionKey: entity.partitionKey, rowKey: entity.rowKey, status: 'deleted' }, 'Merge');
  await deps.objects.delete(tenant, privateKeyObject(publicKeyId));
  await deps.objects.delete(tenant, passphraseObject(publicKeyId));
}

/**
 * Loads the private key and passphrase for decryption (both small, bounded objects).
 * @throws NOT_FOUND when the key does not exist in the sandbox; KEY_VAULT_UNAVAILABLE, KEK_*.
 */
export async function loadDecryptionKey(deps: EncryptionKeyDeps, tenant: Tenant, publicKeyId: string): Promise<DecryptionKey> {
  const entity = await readEntity(deps, tenant, publicKeyId);
  const [privateKeyArmored, passphrase] = await Promise.all([
    deps.objects.get(tenant, privateKeyObject(publicKeyId)).then(text),
    deps.objects.get(tenant, passphraseObject(publicKeyId)).then(text),
  ]);
  return {
    publicKeyId,
    privateKeyArmored,
    passphrase,
    keyIds: JSON.parse(entity.keyIds) as string[],
    expiresAt: new Date(entity.expiresAt),
  };
}

/** Ids are UUIDs; anything else cannot exist (and must not reach an OData filter or a row key). */
const PUBLIC_KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function readEntity(deps: EncryptionKeyDeps, tenant: Tenant, publicKeyId: string): Promise<EncryptionKeyEntity> {
  const notFound = () => new NotFoundError(`Encryption key ${publicKeyId} was not found`);
  if (!PUBLIC_KEY_ID.test(publicKeyId)) throw notFound();
  const entity = await findTenantEntity<EncryptionKeyEntity>(deps.tables, ENCRYPTION_KEYS_TABLE, tenant, publicKeyId);
  if (entity?.status !== 'active') throw notFound();
  return entity;
}

function toEncryptionKey(e: EncryptionKeyEntity, now: Date): EncryptionKey {
  return {
    name: e.name,
    encryptionAlgorithm: e.encryptionAlgorithm,
    publicKeyId: e.rowKey,
    publicKey: Buffer.from(e.publicKeyArmored).toString('base64'),
    keyType: e.keyType,
    fingerprint: e.fingerprint,
    expiryTime: String(Math.floor(e.expiresAt / 1000)),
    createdTime: String(Math.floor(e.createdAt / 1000)),
    status: e.expiresAt <= now.getTime() ? 'Expired' : 'Active',
  };
}

/** Quotes a value for an OData string literal. */
export function escapeOData(value: string): string {
  return value.replaceAll("'", "''");
}
