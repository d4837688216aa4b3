import { randomUUID } from 'node:crypto';
import type { TableClient, TransactionAction } from '@azure/data-tables';
import { z } from 'zod';
import { isConflict, isNotFound } from '../core/azure-errors.js';
import type { OrgScope } from '../core/scope.js';
import { CmkIrreversibleError, CmkKeyNotOwnedError, ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { formatKeyVaultKeyId, parseKeyVaultKeyId, type KeyVaultKeyId } from '../vault/key-vault-key-id.js';
import { BYOK_CONFIGS_TABLE, byokConfigTable, listOrgConfigs, ORG_LOCK_ROW, readConfig, type ByokConfigRecord, type NewByokConfigRecord } from './config-record.js';
import { NOT_YET_EFFECTIVE_STATUSES, type CmkFailure, type ConfigStatus, type ConfigTransition } from './config-status.js';
import { isOperatorVault, keyProvesOwnership, notOwnedFailure, ownershipView, type OwnershipPolicy, type OwnershipView } from './key-ownership.js';
import { ORG_KEYS_TABLE, readOrgKeyState } from './org-key-state.js';
import type { KeyReader } from './validate-cmk-key.js';

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
  /** Whose keys count as the org's, and the grace of configs that took effect without proof (the GET's `ownership`). */
  readonly ownership: OwnershipPolicy;
}

/** What creating a config needs besides: a read of the key, for its proof of ownership. */
export interface CreateByokConfigDeps extends ByokConfigDeps {
  readonly readKey: KeyReader;
}

/** How long submission waits for the key's vault; a slower vault leaves the check to the reconciler. */
export const SUBMISSION_KEY_READ_TIMEOUT_MS = 10_000;

/** `configData` as Adobe answers it. */
export interface ByokConfigData {
  readonly keyVaultUri: string;
  readonly keyVaultKeyIdentifier: string;
  readonly keyVersion?: string;
  readonly keyName: string;
  readonly providerType: typeof AZURE_KEYVAULT_PROVIDER;
}

/** The GET answer: Adobe's fields plus ours (`failure`, `history`, `activeKeyVersion`, `progress`, `ownership`). */
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
  /** Whether the key proved it is the org's (tag `cipherflow-org`) and, for a config without proof, from when that fails it. */
  readonly ownership: OwnershipView;
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
 * The key must prove it is the org's: not in a vault cipherflow operates, and (when its vault
 * answers now) tagged `cipherflow-org` = the org id; a vault that does not answer or refuses
 * leaves that to the reconciler, which checks it before anything else. A config of the org still
 * `NEW` or `RUNNING` (never in effect) is replaced: it ends `FAILED` `CONFIG_REPLACED`, in the same
 * table transaction.
 *
 * @throws INVALID_REQUEST when `imsOrgId` is not the caller's org or the identifier is not a Key Vault key URL.
 * @throws CMK_KEY_NOT_OWNED when the key is in an operator vault or its current version lacks the tag.
 * @throws CONFLICT when the name is taken, a config of the org is moving its keys
 *   (`UPDATE_EXISTING_RESOURCES`), or the org's configs changed meanwhile (a config created at the
 *   same instant: the org's creation lock, {@link ORG_LOCK_ROW}; or the replaced one advanced).
 */
export async function createByokConfig(deps: CreateByokConfigDeps, org: OrgScope, body: CreateByokConfigRequest): Promise<CreatedByokConfig> {
  const { orgId } = org;
  if (body.imsOrgId !== orgId) {
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
  if (isOperatorVault(deps.ownership, key.vaultUrl)) throw new CmkKeyNotOwnedError(notOwnedFailure(deps.ownership, key.vaultUrl, orgId).message);
  const table = await deps.tables(BYOK_CONFIGS_TABLE);
  // Read before the in-flight check: the write below succeeds only if no config was created since.
  const lock = await readLockEtag(table, orgId);
  const keyState = await readOrgKeyState(await deps.tables(ORG_KEYS_TABLE), orgId);
  const others = await listOrgConfigs(table, orgId);
  if (others.some((o) => o.name === body.name)) throw new ConflictError(`A configuration named ${body.name} already exists`);
  const replaced: ByokConfigRecord[] = [];
  for (const other of others) {
    if (other.status === 'UPDATE_EXISTING_RESOURCES' || (other.status !== 'FAILED' && NOT_YET_EFFECTIVE_STATUSES.has(other.status) && keyState?.configName === other.name)) {
      throw new ConflictError(`The configuration ${other.name} is moving the organization's keys (${other.status}); wait until it is COMPLETED`);
    }
    if (other.status === 'NEW' || other.status === 'RUNNING') replaced.push(other);
  }
  // After the reads above: two configs sent together both read the lock before either commits.
  await requireTag(deps, key, orgId);
  const now = new Date(deps.clock.now()).toISOString();
  const record: NewByokConfigRecord = {
    orgId,
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
  // One transaction (the repository makes single-row writes only): the lock, the new config and
  // the configs it replaces are written together or not at all, each conditionally.
  const configs = byokConfigTable(table).in(org);
  const lockEntity = { partitionKey: configs.partitionKey, rowKey: ORG_LOCK_ROW, lastCreated: record.name, updatedAt: now };
  try {
    await table.submitTransaction([
      lock === undefined ? ['create', lockEntity] : ['update', lockEntity, 'Replace', { etag: lock }],
      ['create', configs.entity(record)],
      // If-Match: a config the reconciler moved on meanwhile (to UPDATE_EXISTING_RESOURCES) is not replaced.
      ...replaced.map((old): TransactionAction => ['update', configs.entity(replacedBy(old, body.name, now)), 'Replace', { etag: old.etag }]),
    ]);
  } catch (err) {
    if (!isConflict(err)) throw err;
    if ((await configs.find(body.name)) !== undefined) throw new ConflictError(`A configuration named ${body.name} already exists`);
    throw new ConflictError("The organization's configurations changed at the same time (another was created, or one moved on); check their status and retry");
  }
  const { name, type, imsOrgId, configData } = toView({ ...record, etag: '' }, deps.ownership);
  return { id: record.id, config: { configData, name, type, imsOrgId, status: 'NEW' }, status: 'CREATED' };
}

/**
 * A config of the caller's org with its status, failure reason and history.
 * @throws NOT_FOUND when the org has no config of that name.
 */
export async function getByokConfig(deps: ByokConfigDeps, org: OrgScope, name: string): Promise<ByokConfigView> {
  const record = CONFIG_NAME.test(name) ? await readConfig(await deps.tables(BYOK_CONFIGS_TABLE), org.orgId, name) : undefined;
  if (record === undefined) throw new NotFoundError(`No ${BYOK_CONFIG_TYPE} configuration named ${name}`);
  return toView(record, deps.ownership);
}

/**
 * Deletes a config that never took effect: `NEW`, `RUNNING` (a vault that never answers must not
 * lock the org out) or `FAILED`, while the org's key state does not name it. From
 * `UPDATE_EXISTING_RESOURCES` on, the org's key state names the key and new sandboxes get it, and
 * deleting the config would take the org back to system-managed keys, which is refused. The delete
 * is conditional on the config's ETag, so a config the reconciler moves on meanwhile is judged again.
 *
 * @throws CMK_IRREVERSIBLE when the config's key is (or is becoming) the org's key.
 * @throws NOT_FOUND when absent.
 */
export async function deleteByokConfig(deps: ByokConfigDeps, org: OrgScope, name: string): Promise<void> {
  const table = await deps.tables(BYOK_CONFIGS_TABLE);
  for (let attempt = 1; ; attempt += 1) {
    const record = CONFIG_NAME.test(name) ? await readConfig(table, org.orgId, name) : undefined;
    if (record === undefined) throw new NotFoundError(`No ${BYOK_CONFIG_TYPE} configuration named ${name}`);
    const keyState = await readOrgKeyState(await deps.tables(ORG_KEYS_TABLE), org.orgId);
    if (!NOT_YET_EFFECTIVE_STATUSES.has(record.status) || keyState?.configName === name) throw new CmkIrreversibleError();
    if (await byokConfigTable(table).in(org).delete(record.name, record.etag)) return;
    // Changed since read (the reconciler advanced it): read it again and decide again.
    if (attempt >= MAX_DELETE_ATTEMPTS) throw new Error(`The configuration ${name} kept changing while it was being deleted`);
  }
}

const MAX_DELETE_ATTEMPTS = 3;

/**
 * Submission's check of the key's tag (the vault was checked against ours already): one
 * `keys/get`, bounded by {@link SUBMISSION_KEY_READ_TIMEOUT_MS}. A vault that refuses or does not
 * answer proves nothing either way: the reconciler decides, before anything else.
 * @throws CMK_KEY_NOT_OWNED
 */
async function requireTag(deps: CreateByokConfigDeps, key: KeyVaultKeyId, orgId: string): Promise<void> {
  let read;
  try {
    read = await deps.readKey({ vaultUrl: key.vaultUrl, name: key.name }, { abortSignal: AbortSignal.timeout(SUBMISSION_KEY_READ_TIMEOUT_MS) });
  } catch {
    return;
  }
  if (!keyProvesOwnership(deps.ownership, key.vaultUrl, read, orgId)) throw new CmkKeyNotOwnedError(notOwnedFailure(deps.ownership, key.vaultUrl, orgId).message);
}

/** A NEW or RUNNING config as it ends when another config of the org replaces it. */
function replacedBy(old: ByokConfigRecord, by: string, at: string): NewByokConfigRecord {
  const failure: CmkFailure = { code: 'CONFIG_REPLACED', message: `Replaced by the configuration ${by} before it took effect` };
  const { etag: _e, checkpoint: _c, ...rest } = old;
  return { ...rest, status: 'FAILED', failure, updatedAt: at, history: [...old.history, { status: 'FAILED', at, code: failure.code }] };
}

/** The ETag of the org's creation lock; undefined before its first config. */
async function readLockEtag(table: TableClient, orgId: string): Promise<string | undefined> {
  try {
    return (await table.getEntity(orgId, ORG_LOCK_ROW, { queryOptions: { select: ['updatedAt'] } })).etag;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function toView(r: ByokConfigRecord, policy: OwnershipPolicy): ByokConfigView {
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
    ownership: ownershipView(policy, r),
    history: r.history,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}
