import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';
import type { OrgScope } from '../core/scope.js';
import { byOrg, tableRepository, type TableCodec } from '../storage/tenant-table.js';
import { CMK_FAILURE_CODES, type CmkFailureCode } from './config-status.js';

/** Table of each CMK org's current key: PartitionKey = org id, RowKey = {@link ORG_ROW}. */
export const ORG_KEYS_TABLE = 'cmkorgs';
const ORG_ROW = 'kek';

/** Whether the org's key can be used right now, as the reconciler last saw it. */
export type OrgKeyAccess = 'GRANTED' | 'KEY_ACCESS_REVOKED' | 'KEY_VAULT_UNREACHABLE';

/**
 * The customer key an org's root keys are wrapped under. Present from the moment a config enters
 * UPDATE_EXISTING_RESOURCES, never removed (CMK is irreversible): new sandboxes get this key.
 */
export interface OrgKeyState {
  readonly orgId: string;
  /** The config that put this key in place. */
  readonly configName: string;
  readonly keyVaultUrl: string;
  readonly keyName: string;
  readonly access: OrgKeyAccess;
  readonly reason?: CmkFailureCode;
  readonly updatedAt: string;
}

const Entity = z.object({
  configName: z.string(),
  keyVaultUrl: z.string(),
  keyName: z.string(),
  access: z.enum(['GRANTED', 'KEY_ACCESS_REVOKED', 'KEY_VAULT_UNREACHABLE']),
  reason: z.union([z.enum(CMK_FAILURE_CODES), z.literal('')]).optional(),
  updatedAt: z.string(),
});
type OrgKeyStateEntity = z.input<typeof Entity> & { readonly rowKey: string };

const codec: TableCodec<OrgKeyState, OrgScope, OrgKeyStateEntity> = {
  // Absent fields are written as empty: the row is replaced whole.
  toEntity: (state) => ({
    rowKey: ORG_ROW,
    configName: state.configName,
    keyVaultUrl: state.keyVaultUrl,
    keyName: state.keyName,
    access: state.access,
    reason: state.reason ?? '',
    updatedAt: state.updatedAt,
  }),
  fromEntity(row, { orgId }) {
    const e = Entity.parse(row);
    return {
      orgId,
      configName: e.configName,
      keyVaultUrl: e.keyVaultUrl,
      keyName: e.keyName,
      access: e.access,
      ...(e.reason === undefined || e.reason === '' ? {} : { reason: e.reason }),
      updatedAt: e.updatedAt,
    };
  },
};

const orgKeyStates = (table: TableClient, orgId: string) => tableRepository(table, byOrg, codec).in({ orgId });

/** Reads the org's key state; undefined while the org uses the system key. */
export async function readOrgKeyState(table: TableClient, orgId: string): Promise<OrgKeyState | undefined> {
  return orgKeyStates(table, orgId).find(ORG_ROW);
}

/** Writes the org's key state (last writer wins: only the reconciler writes it). */
export async function writeOrgKeyState(table: TableClient, state: OrgKeyState): Promise<void> {
  await orgKeyStates(table, state.orgId).upsert(state);
}
