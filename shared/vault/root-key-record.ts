import type { TableClient, TableEntityResult } from '@azure/data-tables';
import { z } from 'zod';
import { KEK_WRAP_ALGORITHM } from './kek-client.js';
import { formatKeyVaultKeyId, type VersionedKeyVaultKeyId } from './key-vault-key-id.js';
import { statusOf } from '../storage/tenant-table.js';
import type { SandboxScope } from './sandbox-scope.js';

/** Table holding one wrapped root key per org (PartitionKey) and sandbox (RowKey). */
export const ROOT_KEYS_TABLE = 'rootkeys';

/** A sandbox root key as stored: only ever wrapped, with the exact KEK version beside it. */
export interface RootKeyRecord {
  readonly scope: SandboxScope;
  readonly wrappedKey: Uint8Array;
  readonly kek: VersionedKeyVaultKeyId;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The entity's ETag, for conditional (If-Match) re-wraps. */
  readonly etag: string;
}

const RootKeyEntity = z.object({
  partitionKey: z.string(),
  rowKey: z.string(),
  etag: z.string().min(1),
  wrappedKey: z.base64().min(1),
  wrapAlgorithm: z.literal(KEK_WRAP_ALGORITHM),
  kekKeyId: z.string(),
  kekVaultUrl: z.string(),
  kekName: z.string(),
  kekVersion: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

/** The entity's columns (besides the keys) for a record. */
export function rootKeyColumns(wrappedKey: Uint8Array, kek: VersionedKeyVaultKeyId, createdAt: string, updatedAt: string) {
  return {
    wrappedKey: Buffer.from(wrappedKey).toString('base64'),
    wrapAlgorithm: KEK_WRAP_ALGORITHM,
    kekKeyId: formatKeyVaultKeyId(kek),
    kekVaultUrl: kek.vaultUrl,
    kekName: kek.name,
    kekVersion: kek.version,
    createdAt,
    updatedAt,
  };
}

/**
 * Turns a Table entity into a record.
 * @throws ZodError when the entity is not a root key record (corrupt or foreign data).
 */
export function parseRootKeyEntity(entity: TableEntityResult<Record<string, unknown>>): RootKeyRecord {
  const e = RootKeyEntity.parse(entity);
  return {
    scope: { orgId: e.partitionKey, sandbox: e.rowKey },
    wrappedKey: Buffer.from(e.wrappedKey, 'base64'),
    kek: { vaultUrl: e.kekVaultUrl, name: e.kekName, version: e.kekVersion },
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
    etag: e.etag,
  };
}

/** Reads a sandbox's record; undefined when it has none yet. */
export async function readRootKeyRecord(table: TableClient, scope: SandboxScope): Promise<RootKeyRecord | undefined> {
  try {
    return parseRootKeyEntity(await table.getEntity<Record<string, unknown>>(scope.orgId, scope.sandbox));
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

