import { randomUUID } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import { z } from 'zod';
import type { Tenant } from '../auth/tenant.js';
import { CmkIrreversibleError, ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { formatKeyVaultKeyId, parseKeyVaultKeyId } from '../vault/key-vault-key-id.js';
import { statusOf } from '../storage/tenant-table.js';
import { BYOK_CONFIGS_TABLE, configEntity, ORG_LOCK_ROW, parseConfigEntity, readConfig, type ByokConfigRecord } from './byok-config-record.js';
import { IN_FLIGHT_STATUSES, type CmkFailure, type ConfigStatus, type ConfigTransition } from './config-status.js';
import { ORG_KEYS_TABLE, readOrgKeyState } from './org-key-state.js';

/** The only config type and provider this API knows, spelled as Adobe's. */
export const BYOK_CONFIG_TYPE = 'BYOK_CONFIG';
export const AZURE_KEYVAULT_PROVIDER = 'AZURE_KEYVAULT';

// Case-sensitive, as Adobe's; it is a Table RowKey, so / \ # ? and control characters are out.
const CONFIG_NAME = /^[A-Za-z0-9._-]{1,64}$/;
/** Longest key identifier accepted (vault host + /keys/ + 127-char name + version, with room). */
export const MAX_KEY_IDENTIFIER_LENGTH = 512;

/** `POST /data/infrastructure/manager/customer/config` body. */
export const CreateByokConfigRequest = z.strictObject({
  name: z.string().regex(CONFIG_NAME, 'Use 1-64 letters, digits, dot, underscore or hyphen'),
  type: z.literal(BYOK_CONFIG_TYPE),
  imsOrgId: z.string().min(1).max(128),
  configData: z.strictObject({
    providerType: z.literal(AZURE_KEYVAULT_PROVIDER),
    keyVaultKeyIdentifier: z.string().min(1).max(MAX_KEY_IDENTIFIER_LENGTH),
  }),
});
export type CreateByokConfigRequest = z.infer<typeof CreateByokConfigRequest>;

export interface ByokConfigDeps {
  /** Table factory (`cmkconfigs`, `cmkorgs`). */
  readonly tables: (name: string) => Promise<TableClient>;
  readonly clock: { now(): number };
  /** Accept loopback vault URLs (the local emulator); true only in local mode. */
  readonly allowLoopback: boolean;
}

/** `configData` as Adobe answers it. */
export interface ByokConfigData {
  readonly keyVaultUri: string;
  readonly keyVaultKeyIdentifier: string;
  readonly keyVersion?: string;
  readonly keyName: string;
  readonly providerType: typeof AZURE_KEYVAULT_PROVIDER;
}

/** The GET answer: Adobe's fields plus ours (`failure`, `history`, `activeKeyVersion`, `progress`). */
export interface ByokConfigView {
  readonly name: string;
  readonly type: typeof BYOK_CONFIG_TYPE;
  readonly status: ConfigStatus;
  readonly configData: ByokConfigData;
  readonly imsOrgId: string;
  readonly id: string;
  readonly rowType: 'BYOK_KEY';
  readonly activeKeyVersion?: string;
  readonly failure?: CmkFailure;
  readonly progress: { readonly sandboxesRewrapped: number };
  readonly history: readonly ConfigTransition[];
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The POST answer, Adobe's shape. */
export interface CreatedByokConfig {
  readonly id: string;
  readonly config: {
    readonly configData: ByokConfigData;
    readonly name: string;
    readonly type: typeof BYOK_CONFIG_TYPE;
    readonly imsOrgId: string;
    readonly status: 'NEW';
  };
  readonly status: 'CREATED';
}

/**
 * Registers a customer key for the caller's org, in status `NEW`; the reconciler takes it from
 * there. The identifier is parsed and checked here; only its vault and key name are the target.
 *
 * @throws INVALID_REQUEST when `imsOrgId` is not the caller's org or the identifier is not a Key Vault key URL.
 * @throws CONFLICT when the name is taken, another config of the org is still in progress, or one
 *   was created at the same instant (the org's creation lock, {@link ORG_LOCK_ROW}).
 */
export async function createByokConfig(deps: ByokConfigDeps, tenant: Tenant, body: CreateByokConfigRequest): Promise<CreatedByokConfig> {
  if (body.imsOrgId !== tenant.orgId) {
    throw new ValidationError('imsOrgId must be the organization of the x-gw-ims-org-id header', [
      { field: 'body.imsOrgId', pointer: '/imsOrgId', message: 'Must equal the x-gw-ims-org-id header' },
    ]);
  }
  let key;
  try {
    key = parseKeyVaultKeyId(body.configData.keyVaultKeyIdentifier, { allowLoopback: deps.allowLoopback });
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    throw new ValidationError(err.detail, [
      { field: 'body.configData.keyVaultKeyIdentifier', pointer: '/configData/keyVaultKeyIdentifier', message: err.detail },
    ], { cause: err });
  }
  const table = await deps.tables(BYOK_CONFIGS_TABLE);
  // Read before the in-flight check: the write below succeeds only if no config was created since.
  const lock = await readLockEtag(table, tenant.orgId);
  for (const other of await listOrgConfigs(table, tenant.orgId)) {
    if (IN_FLIGHT_STATUSES.has(other.status)) {
      throw new ConflictError(`The configuration ${other.name} is still ${other.status}; wait until it is COMPLETED or FAILED`);
    }
  }
  const now = new Date(deps.clock.now()).toISOString();
  const record: Omit<ByokConfigRecord, 'etag'> = {
    orgId: tenant.orgId,
    name: body.name,
    id: randomUUID(),
    status: 'NEW',
    keyVaultKeyIdentifier: formatKeyVaultKeyId(key),
    keyVaultUrl: key.vaultUrl,
    keyName: key.name,
    ...(key.version === undefined ? {} : { submittedVersion: key.version }),
    rewrapped: 0,
    history: [{ status: 'NEW', at: now }],
    createdAt: now,
    updatedAt: now,
  };
  const lockEntity = { partitionKey: tenant.orgId, rowKey: ORG_LOCK_ROW, lastCreated: record.name, updatedAt: now };
  try {
    await table.submitTransaction([
      lock === undefined ? ['create', lockEntity] : ['update', lockEntity, 'Replace', { etag: lock }],
      ['create', configEntity(record)],
    ]);
  } catch (err) {
    const status = statusOf(err);
    if (status !== 409 && status !== 412) throw err;
    if ((await readConfig(table, tenant.orgId, body.name)) !== undefined) throw new ConflictError(`A configuration named ${body.name} already exists`);
    throw new ConflictError('Another configuration of the organization was created at the same time; check its status');
  }
  const { name, type, imsOrgId, configData } = toView({ ...record, etag: '' });
  return { id: record.id, config: { configData, name, type, imsOrgId, status: 'NEW' }, status: 'CREATED' };
}

/**
 * The query of the config's GET and DELETE: `configType=BYOK_CONFIG`, as Adobe's API has it (the
 * one type served).
 */
export const ByokConfigQuery = z.object({
  configType: z
    .literal(BYOK_CONFIG_TYPE, { error: `Must be ${BYOK_CONFIG_TYPE}` })
    .describe(`The configuration type: ${BYOK_CONFIG_TYPE}`),
});

/**
 * A config of the caller's org with its status, failure reason and history.
 * @throws NOT_FOUND when the org has no config of that name.
 */
export async function getByokConfig(deps: ByokConfigDeps, tenant: Tenant, name: string): Promise<ByokConfigView> {
  const record = CONFIG_NAME.test(name) ? await readConfig(await deps.tables(BYOK_CONFIGS_TABLE), tenant.orgId, name) : undefined;
  if (record === undefined) throw new NotFoundError(`No ${BYOK_CONFIG_TYPE} configuration named ${name}`);
  return toView(record);
}

/**
 * Deletes a config that never took effect (`FAILED`). Deleting one whose key the org uses would
 * take the org back to system-managed keys, which is refused.
 *
 * @throws CMK_IRREVERSIBLE when the config's key is (or is becoming) the org's key.
 * @throws NOT_FOUND when absent.
 */
export async function deleteByokConfig(deps: ByokConfigDeps, tenant: Tenant, name: string): Promise<void> {
  const table = await deps.tables(BYOK_CONFIGS_TABLE);
  const record = CONFIG_NAME.test(name) ? await readConfig(table, tenant.orgId, name) : undefined;
  if (record === undefined) throw new NotFoundError(`No ${BYOK_CONFIG_TYPE} configuration named ${name}`);
  const org = await readOrgKeyState(await deps.tables(ORG_KEYS_TABLE), tenant.orgId);
  if (record.status !== 'FAILED' || org?.configName === name) throw new CmkIrreversibleError();
  await table.deleteEntity(record.orgId, record.name, { etag: record.etag });
}

/** Every config of an org. */
export async function listOrgConfigs(table: TableClient, orgId: string): Promise<ByokConfigRecord[]> {
  const out: ByokConfigRecord[] = [];
  const filter = odata`PartitionKey eq ${orgId} and RowKey ne ${ORG_LOCK_ROW}`;
  for await (const entity of table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) out.push(parseConfigEntity(entity));
  return out;
}

/** The ETag of the org's creation lock; undefined before its first config. */
async function readLockEtag(table: TableClient, orgId: string): Promise<string | undefined> {
  try {
    return (await table.getEntity(orgId, ORG_LOCK_ROW, { queryOptions: { select: ['updatedAt'] } })).etag;
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

function toView(r: ByokConfigRecord): ByokConfigView {
  return {
    name: r.name,
    type: BYOK_CONFIG_TYPE,
    status: r.status,
    configData: {
      keyVaultUri: r.keyVaultUrl,
      keyVaultKeyIdentifier: r.keyVaultKeyIdentifier,
      ...(r.submittedVersion === undefined ? {} : { keyVersion: r.submittedVersion }),
      keyName: r.keyName,
      providerType: AZURE_KEYVAULT_PROVIDER,
    },
    imsOrgId: r.orgId,
    id: r.id,
    rowType: 'BYOK_KEY',
    ...(r.activeVersion === undefined ? {} : { activeKeyVersion: r.activeVersion }),
    ...(r.failure === undefined ? {} : { failure: r.failure }),
    progress: { sandboxesRewrapped: r.rewrapped },
    history: r.history,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}
