import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';
import type { OrgScope } from '../core/scope.js';
import { byOrg, tableRepository, type TableCodec } from '../storage/tenant-table.js';

/** Per-org API settings: partition = org id, row `hpke`. */
export const ORG_SETTINGS_TABLE = 'orgsettings';
const ROW = 'hpke';
/** How long an instance trusts a cached setting; a change made through this instance applies at once. */
export const ORG_SETTINGS_CACHE_MS = 10_000;

/** `PUT /api-encryption/settings`. */
export const PutEncryptionSettingsRequest = z.strictObject({ requireEncryption: z.boolean() });
export type EncryptionSettings = z.output<typeof PutEncryptionSettingsRequest>;

/** The org's encryption settings, cached per process. */
export interface OrgSettingsStore {
  get(orgId: string): Promise<EncryptionSettings>;
  put(orgId: string, settings: EncryptionSettings): Promise<EncryptionSettings>;
}

interface SettingsEntity {
  rowKey: string;
  requireEncryption?: boolean;
}

const codec: TableCodec<EncryptionSettings, OrgScope, SettingsEntity> = {
  toEntity: (settings) => ({ rowKey: ROW, requireEncryption: settings.requireEncryption }),
  fromEntity: (row) => ({ requireEncryption: row.requireEncryption === true }),
};

export function createOrgSettingsStore(table: () => Promise<TableClient>, now: () => number = Date.now): OrgSettingsStore {
  const settings = tableRepository(table, byOrg, codec);
  const cache = new Map<string, { at: number; value: EncryptionSettings }>();
  return {
    async get(orgId) {
      const hit = cache.get(orgId);
      if (hit !== undefined && now() - hit.at < ORG_SETTINGS_CACHE_MS) return hit.value;
      const value = (await settings.in({ orgId }).find(ROW)) ?? { requireEncryption: false };
      cache.set(orgId, { at: now(), value });
      return value;
    },
    async put(orgId, value) {
      await settings.in({ orgId }).upsert(value);
      cache.set(orgId, { at: now(), value });
      return value;
    },
  };
}
