import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';
import type { OrgScope } from '../core/scope.js';
import { byOrg, tableRepository, where, type TableCodec } from '../storage/tenant-table.js';
import type { OwnerProof } from './key-ownership.js';
import { CMK_FAILURE_CODES, CONFIG_EVENTS, CONFIG_STATUSES, type CmkFailure, type ConfigStatus, type ConfigTransition } from './config-status.js';

/** Table of BYOK configs: PartitionKey = org id, RowKey = config name (case-sensitive, as Adobe's). */
export const BYOK_CONFIGS_TABLE = 'cmkconfigs';

/**
 * RowKey of each org's creation lock in {@link BYOK_CONFIGS_TABLE} (never a valid config name): a
 * new config is stored in one table transaction with a conditional write of this row, so of two
 * configs created at the same instant for one org only one is stored. Not a config: skip it.
 */
export const ORG_LOCK_ROW = '~create-lock';

/** A BYOK config as stored. Only the vault and key name are the target: the key is followed versionless. */
export interface ByokConfigRecord {
  readonly orgId: string;
  readonly name: string;
  readonly id: string;
  readonly status: ConfigStatus;
  /** The identifier exactly as submitted (may name a version; echoed, never used as the target). */
  readonly keyVaultKeyIdentifier: string;
  readonly keyVaultUrl: string;
  readonly keyName: string;
  /** The version submitted, if any (echoed only). */
  readonly submittedVersion?: string;
  /** The key version the org's root keys are wrapped under (from UPDATE_EXISTING_RESOURCES on). */
  readonly activeVersion?: string;
  /** The last sandbox re-wrapped in UPDATE_EXISTING_RESOURCES: where a resumed run continues. */
  readonly checkpoint?: string;
  readonly rewrapped: number;
  readonly failure?: CmkFailure;
  /**
   * The proof that the key is the org's (tag `cipherflow-org`): `VERIFIED` when seen at the last
   * check, `LOST` when seen once and gone since; absent when never seen (a config that took effect
   * before proof was required).
   */
  readonly ownerProof?: OwnerProof;
  /** When the reconciler first found this config in effect without ever having seen proof: its grace starts. */
  readonly unprovenSince?: string;
  readonly history: readonly ConfigTransition[];
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly etag: string;
}

const Transition = z.strictObject({
  status: z.enum(CONFIG_STATUSES),
  at: z.iso.datetime(),
  code: z.enum(CMK_FAILURE_CODES).optional(),
  event: z.enum(CONFIG_EVENTS).optional(),
  keyVersion: z.string().optional(),
});

const Entity = z.object({
  rowKey: z.string(),
  etag: z.string().min(1),
  id: z.string(),
  status: z.enum(CONFIG_STATUSES),
  keyVaultKeyIdentifier: z.string(),
  keyVaultUrl: z.string(),
  keyName: z.string(),
  submittedVersion: z.string().optional(),
  activeVersion: z.string().optional(),
  checkpoint: z.string().optional(),
  rewrapped: z.number().int().default(0),
  failureCode: z.enum(CMK_FAILURE_CODES).optional(),
  failureMessage: z.string().optional(),
  ownerProof: z.enum(['VERIFIED', 'LOST', '']).optional(),
  unprovenSince: z.union([z.iso.datetime(), z.literal('')]).optional(),
  history: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
type ConfigEntity = Omit<z.input<typeof Entity>, 'etag'>;

/** A config as written: the ETag is the table's to give. */
export type NewByokConfigRecord = Omit<ByokConfigRecord, 'etag'>;

const codec: TableCodec<ByokConfigRecord, OrgScope, ConfigEntity, NewByokConfigRecord> = {
  // Absent optional fields are written as empty: a config is always replaced whole.
  toEntity: (r) => ({
    rowKey: r.name,
    id: r.id,
    status: r.status,
    keyVaultKeyIdentifier: r.keyVaultKeyIdentifier,
    keyVaultUrl: r.keyVaultUrl,
    keyName: r.keyName,
    ...(r.submittedVersion === undefined ? {} : { submittedVersion: r.submittedVersion }),
    ...(r.activeVersion === undefined ? {} : { activeVersion: r.activeVersion }),
    checkpoint: r.checkpoint ?? '',
    rewrapped: r.rewrapped,
    ...(r.failure === undefined ? {} : { failureCode: r.failure.code, failureMessage: r.failure.message }),
    ownerProof: r.ownerProof ?? '',
    unprovenSince: r.unprovenSince ?? '',
    history: JSON.stringify(r.history),
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  }),
  /** @throws ZodError for an entity that is not a config (corrupt or foreign data). */
  fromEntity(row, { orgId }) {
    const e = Entity.parse(row);
    return {
      orgId,
      name: e.rowKey,
      id: e.id,
      status: e.status,
      keyVaultKeyIdentifier: e.keyVaultKeyIdentifier,
      keyVaultUrl: e.keyVaultUrl,
      keyName: e.keyName,
      ...(e.submittedVersion === undefined ? {} : { submittedVersion: e.submittedVersion }),
      ...(e.activeVersion === undefined ? {} : { activeVersion: e.activeVersion }),
      ...(e.checkpoint === undefined || e.checkpoint === '' ? {} : { checkpoint: e.checkpoint }),
      rewrapped: e.rewrapped,
      ...(e.failureCode === undefined ? {} : { failure: { code: e.failureCode, message: e.failureMessage ?? '' } }),
      ...(e.ownerProof === undefined || e.ownerProof === '' ? {} : { ownerProof: e.ownerProof }),
      ...(e.unprovenSince === undefined || e.unprovenSince === '' ? {} : { unprovenSince: e.unprovenSince }),
      history: z.array(Transition).parse(JSON.parse(e.history)).map(toTransition),
      createdAt: e.createdAt,
      updatedAt: e.updatedAt,
      etag: e.etag,
    };
  },
};

function toTransition(t: z.infer<typeof Transition>): ConfigTransition {
  return {
    status: t.status,
    at: t.at,
    ...(t.code === undefined ? {} : { code: t.code }),
    ...(t.event === undefined ? {} : { event: t.event }),
    ...(t.keyVersion === undefined ? {} : { keyVersion: t.keyVersion }),
  };
}

// The org's creation lock shares the partition; every read of configs leaves it out.
const NOT_THE_LOCK = where`RowKey ne ${ORG_LOCK_ROW}`;

/** {@link BYOK_CONFIGS_TABLE}: PartitionKey = org id, RowKey = config name. */
export function byokConfigTable(table: TableClient) {
  return tableRepository(table, byOrg, codec);
}

/** Every config of an org. */
export async function listOrgConfigs(table: TableClient, orgId: string): Promise<ByokConfigRecord[]> {
  const out: ByokConfigRecord[] = [];
  for await (const config of byokConfigTable(table).in({ orgId }).list(NOT_THE_LOCK)) out.push(config);
  return out;
}

/** Every org's configs (the reconciler's cycle). */
export function allConfigs(table: TableClient): AsyncGenerator<ByokConfigRecord> {
  return byokConfigTable(table).scan(NOT_THE_LOCK);
}

/** The entity (keys and columns) of a record; absent optional fields are written as empty. */
export function configEntity(r: NewByokConfigRecord) {
  return { partitionKey: r.orgId, ...codec.toEntity(r) };
}

/**
 * Replaces a config only if it is unchanged since it was read (If-Match on its ETag): of two
 * reconcilers advancing one config, exactly one write wins.
 * @returns the new record, or undefined when another writer got there first (412) or it was deleted.
 */
export async function replaceConfig(table: TableClient, current: ByokConfigRecord, next: NewByokConfigRecord): Promise<ByokConfigRecord | undefined> {
  return byokConfigTable(table).in(next).replace(next, current.etag);
}

/** Reads one config; undefined when absent. */
export async function readConfig(table: TableClient, orgId: string, name: string): Promise<ByokConfigRecord | undefined> {
  return byokConfigTable(table).in({ orgId }).find(name);
}
