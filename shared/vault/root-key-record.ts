import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';
import type { OrgScope, SandboxScope } from '../core/scope.js';
import { byOrg, tableRepository, type TableCodec } from '../storage/tenant-table.js';
import { KEK_WRAP_ALGORITHM } from './kek-client.js';
import { formatKeyVaultKeyId, type VersionedKeyVaultKeyId } from './key-vault-key-id.js';

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
type RootKeyEntity = Omit<z.input<typeof RootKeyEntity>, 'etag'>;

/** A record as written: the ETag is the table's to give. */
export type NewRootKeyRecord = Omit<RootKeyRecord, 'etag'>;

// PartitionKey = org id, RowKey = sandbox: one org's root keys are one partition, which the CMK
// re-wrap walks in key order.
const codec: TableCodec<RootKeyRecord, OrgScope, RootKeyEntity, NewRootKeyRecord> = {
  toEntity: (r) => ({
    rowKey: r.scope.sandbox,
    wrappedKey: Buffer.from(r.wrappedKey).toString('base64'),
    wrapAlgorithm: KEK_WRAP_ALGORITHM,
    kekKeyId: formatKeyVaultKeyId(r.kek),
    kekVaultUrl: r.kek.vaultUrl,
    kekName: r.kek.name,
    kekVersion: r.kek.version,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  }),
  /** @throws ZodError when the entity is not a root key record (corrupt or foreign data). */
  fromEntity(row, { orgId }) {
    const e = RootKeyEntity.parse(row);
    return {
      scope: { orgId, sandbox: e.rowKey },
      wrappedKey: Buffer.from(e.wrappedKey, 'base64'),
      kek: { vaultUrl: e.kekVaultUrl, name: e.kekName, version: e.kekVersion },
      createdAt: e.createdAt,
      updatedAt: e.updatedAt,
      etag: e.etag,
    };
  },
};

/** The `rootkeys` table: one wrapped root key per org (partition) and sandbox (row). */
export function rootKeyTable(table: TableClient) {
  return tableRepository(table, byOrg, codec);
}

/** Reads a sandbox's record; undefined when it has none yet. */
export async function readRootKeyRecord(table: TableClient, scope: SandboxScope): Promise<RootKeyRecord | undefined> {
  return rootKeyTable(table).in(scope).find(scope.sandbox);
}
