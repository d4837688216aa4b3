import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { SandboxScope } from '../core/scope.js';
import { NotFoundError, PublicKeyRejectedError, ValidationError, type PublicKeyRejection } from '../errors.js';
import { isPgpError } from '../pgp/errors.js';
import { MAX_ARMORED_KEY_LENGTH, validateSigningKey } from '../pgp/validate-signing-key.js';
import { tenantTable, where, type TableCodec, type TableFactory } from '../storage/tenant-table.js';
import { systemClock, type Clock } from '../core/clock.js';

export const CUSTOMER_KEYS_TABLE = 'customerkeys';

/** Base64 of an armored key; bounded before decoding. */
const MAX_BASE64_LENGTH = Math.ceil((MAX_ARMORED_KEY_LENGTH * 4) / 3) + 4;

/** `POST /data/foundation/connectors/encryption/customer-keys` (Adobe's body, plus an optional `name`). */
export const RegisterCustomerKeyRequest = z.strictObject({
  name: z.string().trim().min(1).max(256).optional(),
  encryptionAlgorithm: z.literal('PGP'),
  publicKey: z.string().min(1).max(MAX_BASE64_LENGTH),
});
export type RegisterCustomerKeyRequest = z.output<typeof RegisterCustomerKeyRequest>;

/** A registered signature-verification key. */
export interface CustomerKey {
  readonly publicKeyId: string;
  readonly name: string;
  readonly encryptionAlgorithm: 'PGP';
  readonly fingerprint: string;
  /** Base64 of the armored public key, as it was registered. */
  readonly publicKey: string;
  readonly createdTime: string;
  readonly expiryTime?: string;
}

export interface CustomerKeyDeps {
  readonly tables: TableFactory;
  readonly clock?: Clock;
}

/** A registered key as stored. */
interface CustomerKeyRecord {
  readonly publicKeyId: string;
  readonly name: string;
  readonly publicKeyArmored: string;
  readonly fingerprint: string;
  readonly createdAt: number;
  readonly expiresAt?: number;
  readonly status: 'active' | 'deleted';
}

interface CustomerKeyEntity {
  rowKey: string;
  name: string;
  publicKeyArmored: string;
  fingerprint: string;
  createdAt: number;
  expiresAt?: number;
  status: 'active' | 'deleted';
}

const codec: TableCodec<CustomerKeyRecord, SandboxScope, CustomerKeyEntity> = {
  toEntity: ({ publicKeyId, ...columns }) => ({ rowKey: publicKeyId, ...columns }),
  fromEntity: (e) => ({
    publicKeyId: e.rowKey,
    name: e.name,
    publicKeyArmored: e.publicKeyArmored,
    fingerprint: e.fingerprint,
    createdAt: e.createdAt,
    ...(e.expiresAt === undefined ? {} : { expiresAt: e.expiresAt }),
    status: e.status,
  }),
};

/** The sandbox's customer keys: PartitionKey `{org}|{sandbox}`, RowKey the key id. */
const keysOf = (deps: { readonly tables: TableFactory }, scope: SandboxScope) => tenantTable(deps.tables, CUSTOMER_KEYS_TABLE, codec).in(scope);

const REJECTIONS: ReadonlySet<string> = new Set<PublicKeyRejection>([
  'INVALID_PUBLIC_KEY', 'PRIVATE_KEY_NOT_ALLOWED', 'KEY_EXPIRED', 'KEY_REVOKED', 'NO_SIGNING_KEY', 'KEY_TOO_WEAK', 'UNSUPPORTED_PGP_FEATURE',
]);

/**
 * Registers a customer's public key for verifying their files' signatures, after checking it: a
 * public key (not a private one), not expired or revoked, able to sign, RSA ≥ 2048.
 * @throws INVALID_REQUEST (not Base64), INVALID_PUBLIC_KEY, PRIVATE_KEY_NOT_ALLOWED, KEY_EXPIRED,
 *   KEY_REVOKED, NO_SIGNING_KEY, KEY_TOO_WEAK, UNSUPPORTED_PGP_FEATURE
 */
export async function registerCustomerKey(deps: CustomerKeyDeps, scope: SandboxScope, input: RegisterCustomerKeyRequest): Promise<{ publicKeyId: string }> {
  if (!/^[A-Za-z0-9+/\r\n]+={0,2}\s*$/.test(input.publicKey)) {
    throw new ValidationError('publicKey must be the Base64 encoding of an ASCII-armored OpenPGP public key', [
      { field: 'body.publicKey', pointer: '/publicKey', message: 'Not Base64' },
    ]);
  }
  const armored = Buffer.from(input.publicKey, 'base64').toString('utf8');
  const now = new Date((deps.clock ?? systemClock).now());
  let info;
  try {
    info = await validateSigningKey(armored, { now });
  } catch (err) {
    if (isPgpError(err) && REJECTIONS.has(err.code)) {
      throw new PublicKeyRejectedError(err.code as PublicKeyRejection, err.message, { cause: err });
    }
    throw err;
  }
  const publicKeyId = randomUUID();
  await keysOf(deps, scope).insert({
    publicKeyId,
    name: input.name ?? info.userIds[0] ?? publicKeyId,
    publicKeyArmored: armored,
    fingerprint: info.fingerprint,
    createdAt: now.getTime(),
    ...(info.expiresAt === undefined ? {} : { expiresAt: info.expiresAt.getTime() }),
    status: 'active',
  });
  return { publicKeyId };
}

/** The sandbox's registered customer keys. */
export async function listCustomerKeys(deps: CustomerKeyDeps, scope: SandboxScope): Promise<CustomerKey[]> {
  const keys: CustomerKey[] = [];
  for await (const key of keysOf(deps, scope).list(where`status eq ${'active'}`)) keys.push(toCustomerKey(key));
  return keys.sort((a, b) => Number(b.createdTime) - Number(a.createdTime));
}

/** The armored key the ingestion verifies signatures with. @throws NOT_FOUND */
export async function loadVerificationKey(deps: CustomerKeyDeps, scope: SandboxScope, publicKeyId: string): Promise<string> {
  const key = await findKey(deps, scope, publicKeyId);
  if (key === undefined) throw new NotFoundError(`Customer key ${publicKeyId} was not found`);
  return key.publicKeyArmored;
}

/**
 * Whether `publicKeyId` names a usable (not deleted) customer key of the sandbox: the lookup other
 * domains (a flow's signature verification key) ask instead of reading this store's table.
 */
export async function customerKeyExists(deps: { readonly tables: TableFactory }, scope: SandboxScope, publicKeyId: string): Promise<boolean> {
  if (!CUSTOMER_KEY_ID.test(publicKeyId)) return false;
  return (await keysOf(deps, scope).findColumns(publicKeyId, ['status']))?.status === 'active';
}

/** Ids are UUIDs; anything else cannot exist (and must not reach a row key). */
const CUSTOMER_KEY_ID = /^[0-9a-f-]{36}$/;

/** The sandbox's active key `publicKeyId`; `undefined` when absent, deleted or not a key id. */
async function findKey(deps: { readonly tables: TableFactory }, scope: SandboxScope, publicKeyId: string): Promise<CustomerKeyRecord | undefined> {
  if (!CUSTOMER_KEY_ID.test(publicKeyId)) return undefined;
  const key = await keysOf(deps, scope).find(publicKeyId);
  return key?.status === 'active' ? key : undefined;
}

function toCustomerKey(e: CustomerKeyRecord): CustomerKey {
  return {
    publicKeyId: e.publicKeyId,
    name: e.name,
    encryptionAlgorithm: 'PGP',
    fingerprint: e.fingerprint,
    publicKey: Buffer.from(e.publicKeyArmored).toString('base64'),
    createdTime: String(Math.floor(e.createdAt / 1000)),
    ...(e.expiresAt === undefined ? {} : { expiryTime: String(Math.floor(e.expiresAt / 1000)) }),
  };
}
