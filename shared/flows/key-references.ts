import type { Tenant } from '../auth/tenant.js';
import { isNotFound, tenantPartitionKey, type TableFactory } from '../storage/tenant-table.js';

/** Answers whether the keys a flow's Encryption transformation names exist in the tenant. */
export interface KeyCheck {
  /** True when `id` names a usable (not deleted) encryption key pair of the tenant. */
  encryptionKeyExists(tenant: Tenant, id: string): Promise<boolean>;
  /** True when `id` names a usable (not deleted) customer signing-verification key of the tenant. */
  customerKeyExists(tenant: Tenant, id: string): Promise<boolean>;
}

export const ENCRYPTION_KEYS_TABLE = 'encryptionkeys';
export const CUSTOMER_KEYS_TABLE = 'customerkeys';

// Table keys forbid / \ # ? and control characters; an id outside this charset cannot exist.
const KEY_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * A {@link KeyCheck} over the key stores' tables: PartitionKey `{orgId}|{sandbox}`, RowKey the key
 * id, and a `status` column where `deleted` means gone. Stands in until the key stores
 * (`shared/pgp-keys/`) export their own lookups; swap it there.
 */
export function tableKeyCheck(tables: TableFactory): KeyCheck {
  async function exists(tableName: string, tenant: Tenant, id: string): Promise<boolean> {
    if (!KEY_ID.test(id)) return false;
    const table = await tables(tableName);
    try {
      const entity = await table.getEntity<{ status?: unknown }>(tenantPartitionKey(tenant), id, {
        queryOptions: { select: ['status'] },
      });
      return entity.status !== 'deleted';
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
  return {
    encryptionKeyExists: (tenant, id) => exists(ENCRYPTION_KEYS_TABLE, tenant, id),
    customerKeyExists: (tenant, id) => exists(CUSTOMER_KEYS_TABLE, tenant, id),
  };
}
