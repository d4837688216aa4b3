import type { Tenant } from '../auth/tenant.js';
import type { AppServices } from '../azure/app-services.js';
import { FLOWS_TABLE } from '../flows/flows.js';
import { tenantPartitionKey } from '../storage/tenant-table.js';
import type { CustomerKeyDeps } from './customer-keys.js';
import { escapeOData, type EncryptionKeyDeps } from './encryption-keys.js';

/** The key stores' collaborators, from the app's services. */
export function pgpKeyDeps(services: AppServices): EncryptionKeyDeps & CustomerKeyDeps {
  return {
    tables: services.tables,
    objects: services.objects,
    flowsUsingKey: async (tenant: Tenant, publicKeyId: string) => {
      const table = await services.tables(FLOWS_TABLE);
      const filter =
        `PartitionKey eq '${escapeOData(tenantPartitionKey(tenant))}' and state eq 'enabled' ` +
        `and publicKeyId eq '${escapeOData(publicKeyId)}'`;
      const ids: string[] = [];
      for await (const flow of table.listEntities({ queryOptions: { filter, select: ['RowKey'] } })) {
        if (typeof flow.rowKey === 'string') ids.push(flow.rowKey);
      }
      return ids;
    },
  };
}
