import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Tenant } from '../auth/tenant.js';
import { NotFoundError, PublicKeyRejectedError, ValidationError, type PublicKeyRejection } from '../errors.js';
import { isPgpError } from '../pgp/errors.js';
import { MAX_ARMORED_KEY_LENGTH, validateSigningKey } from '../pgp/validate-signing-key.js';
import { findTenantEntity, tenantPartitionKey, type TableFactory } from '../storage/tenant-table.js';
import { escapeOData } from './encryption-keys.js';
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

interface CustomerKeyEntity {
  partitionKey: string;
  rowKey: string;
  name: string;
  publicKeyArmored: string;
  fingerprint: string;
  createdAt: number;
  expiresAt?: number;
  status: 'active' | 'deleted';
}

const REJECTIONS: ReadonlySet<string> = new Set<PublicKeyRejection>([
  'INVALID_PUBLIC_KEY', 'PRIVATE_KEY_NOT_ALLOWED', 'KEY_EXPIRED', 'KEY_REVOKED', 'NO_SIGNING_KEY', 'KEY_TOO_WEAK', 'UNSUPPORTED_PGP_FEATURE',
]);

/**
 * Registers a customer's public key for verifying their files' signatures, after checking it: a
 * public key (not a private one), not expired or revoked, able to sign, RSA ≥ 2048.
 * @throws INVALID_REQUEST (not Base64), INVALID_PUBLIC_KEY, PRIVATE_KEY_NOT_ALLOWED, KEY_EXPIRED,
 *   KEY_REVOKED, NO_SIGNING_KEY, KEY_TOO_WEAK, UNSUPPORTED_PGP_FEATURE
 */
export async function registerCustomerKey(deps: CustomerKeyDeps, tenant: Tenant, input: RegisterCustomerKeyRequest): Promise<{ publicKeyId: string }> {
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
  const table = await deps.tables(CUSTOMER_KEYS_TABLE);
  const entity: CustomerKeyEntity = {
    partitionKey: tenantPartitionKey(tenant),
    rowKey: publicKeyId,
    name: input.name ?? info.userIds[0] ?? publicKeyId,
    publicKeyArmored: armored,
    fingerprint: info.fingerprint,
    createdAt: now.getTime(),
    ...(info.expiresAt === undefined ? {} : { expiresAt: info.expiresAt.getTime() }),
    status: 'active',
  };
  await table.createEntity(entity);
  return { publicKeyId };
}

/** The sandbox's registered customer keys. */
export async function listCustomerKeys(deps: CustomerKeyDeps, tenant: Tenant): Promise<CustomerKey[]> {
  const table = await deps.tables(CUSTOMER_KEYS_TABLE);
  const keys: CustomerKey[] = [];
  const filter = `PartitionKey eq '${escapeOData(tenantPartitionKey(tenant))}' and status eq 'active'`;
  for await (const e of table.listEntities<CustomerKeyEntity>({ queryOptions: { filter } })) keys.push(toCustomerKey(e));
  return keys.sort((a, b) => Number(b.createdTime) - Number(a.createdTime));
}

/** The armored key the ingestion verifies signatures with. @throws NOT_FOUND */
export async function loadVerificationKey(deps: CustomerKeyDeps, tenant: Tenant, publicKeyId: string): Promise<string> {
  const notFound = () => new NotFoundError(`Customer key ${publicKeyId} was not found`);
  if (!/^[0-9a-f-]{36}$/.test(publicKeyId)) throw notFound();
  const e = await findTenantEntity<CustomerKeyEntity>(deps.tables, CUSTOMER_KEYS_TABLE, tenant, publicKeyId);
  if (e?.status !== 'active') throw notFound();
  return e.publicKeyArmored;
}

function toCustomerKey(e: CustomerKeyEntity): CustomerKey {
  return {
    publicKeyId: e.rowKey,
    name: e.name,
    encryptionAlgorithm: 'PGP',
    fingerprint: e.fingerprint,
    publicKey: Buffer.from(e.publicKeyArmored).toString('base64'),
    createdTime: String(Math.floor(e.createdAt / 1000)),
    ...(e.expiresAt === undefined ? {} : { expiryTime: String(Math.floor(e.expiresAt / 1000)) }),
  };
}
