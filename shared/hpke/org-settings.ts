import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { isNotFound } from '../storage/tenant-table.js';
import { assertOrgId } from '../vault/sandbox-scope.js';

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

export function createOrgSettingsStore(table: () => Promise<TableClient>, now: () => number = Date.now): OrgSettingsStore {
  const cache = new Map<string, { at: number; value: EncryptionSettings }>();
  return {
    async get(orgId) {
      const hit = cache.get(orgId);
      if (hit !== undefined && now() - hit.at < ORG_SETTINGS_CACHE_MS) return hit.value;
      let value: EncryptionSettings = { requireEncryption: false };
      try {
        const e = await (await table()).getEntity<{ requireEncryption?: boolean }>(assertOrgId(orgId), ROW);
        value = { requireEncryption: e.requireEncryption === true };
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      cache.set(orgId, { at: now(), value });
      return value;
    },
    async put(orgId, settings) {
      await (await table()).upsertEntity({ partitionKey: assertOrgId(orgId), rowKey: ROW, requireEncryption: settings.requireEncryption }, 'Replace');
      cache.set(orgId, { at: now(), value: settings });
      return settings;
    },
  };
}
