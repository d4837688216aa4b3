import { odata } from '@azure/data-tables';
import { z } from 'zod';
import { DEFAULT_SANDBOX, SANDBOX_NAME_PATTERN } from '../auth/tenant.js';
import { AppError, ConflictError } from '../errors.js';
import { isConflict, isNotFound, rowExists, type TableFactory } from '../storage/tenant-table.js';
import { assertOrgId, type SandboxScope } from '../vault/sandbox-scope.js';
import { systemClock, type Clock } from '../core/clock.js';

/** One row per sandbox: PartitionKey = org id, RowKey = sandbox name. */
export const SANDBOXES_TABLE = 'sandboxes';

/** At most this many sandboxes per org (Adobe licenses 5, extensible to 75). */
export const MAX_SANDBOXES_PER_ORG = 100;

export type SandboxType = 'production' | 'development';

/** `POST /data/foundation/sandbox-management/sandboxes`, Adobe's body. */
export const CreateSandboxRequest = z.strictObject({
  name: z.string().regex(SANDBOX_NAME_PATTERN, `Must match ${SANDBOX_NAME_PATTERN.source}`),
  title: z.string().trim().min(1).max(256),
  type: z.enum(['development', 'production']),
});
export type CreateSandboxRequest = z.output<typeof CreateSandboxRequest>;

/** A sandbox as Adobe's sandbox management API shows it. */
export interface Sandbox {
  readonly name: string;
  readonly title: string;
  readonly state: 'active';
  readonly type: SandboxType;
  readonly isDefault: boolean;
  readonly eTag: number;
  /** `YYYY-MM-DD HH:mm:ss` UTC, Adobe's format. */
  readonly createdDate: string;
  readonly lastModifiedDate: string;
  readonly createdBy: string;
  readonly modifiedBy: string;
}

/** A caller's org and who they are, for the audit columns. */
export interface SandboxCaller {
  readonly orgId: string;
  readonly subject: string;
}

/**
 * Something a sandbox may hold. A sandbox is deleted only when none is `inUse`; each `release` then
 * removes what is left of it (an empty landing zone, the root key).
 */
export interface SandboxHolding {
  /** What it is, for the 409 detail: `datasets`, `files in the landing zone`. */
  readonly what: string;
  inUse(scope: SandboxScope): Promise<boolean>;
  release?(scope: SandboxScope): Promise<void>;
}

export interface SandboxDeps {
  readonly tables: TableFactory;
  readonly clock?: Clock;
  /** What a sandbox can hold (the composition root lists every tenant-partitioned store). */
  readonly holdings?: readonly SandboxHolding[];
  /**
   * Records the sandboxes that held data before sandboxes were resources ({@link backfillSandboxes},
   * once per process): run before a list and before a lookup answers "no such sandbox".
   */
  readonly backfill?: () => Promise<void>;
}

/** The `x-sandbox-name` (or a path) names no sandbox of the org. */
export class SandboxNotFoundError extends AppError {
  constructor(name: string) {
    super('SANDBOX_NOT_FOUND', `Sandbox ${name} does not exist in this organization; create it with POST /data/foundation/sandbox-management/sandboxes`);
  }
}

/** The sandbox still holds data: empty it first. */
export class SandboxNotEmptyError extends AppError {
  constructor(name: string, holds: readonly string[]) {
    super('SANDBOX_NOT_EMPTY', `Sandbox ${name} still holds ${holds.join(', ')}; delete them first`);
  }
}

/** Production sandboxes are never deleted through the API. */
export class SandboxNotDeletableError extends AppError {
  constructor(name: string) {
    super('SANDBOX_NOT_DELETABLE', `Sandbox ${name} is a production sandbox and cannot be deleted`);
  }
}

interface SandboxEntity {
  partitionKey: string;
  rowKey: string;
  title: string;
  type: SandboxType;
  version: number;
  createdAt: number;
  updatedAt: number;
  createdBy: string;
  modifiedBy: string;
}

/** Whether a sandbox exists. `prod` always does. */
export async function sandboxExists(deps: SandboxDeps, scope: SandboxScope): Promise<boolean> {
  if (scope.sandbox === DEFAULT_SANDBOX) return true;
  return (await findSandbox(deps, scope.orgId, scope.sandbox)) !== undefined;
}

/** The org's sandboxes, the production default first, then by creation. */
export async function listSandboxes(deps: SandboxDeps, orgId: string): Promise<Sandbox[]> {
  await deps.backfill?.();
  await ensureDefault(deps, orgId);
  const table = await deps.tables(SANDBOXES_TABLE);
  const rows: SandboxEntity[] = [];
  const filter = odata`PartitionKey eq ${assertOrgId(orgId)}`;
  for await (const e of table.listEntities<SandboxEntity>({ queryOptions: { filter } })) rows.push(e);
  return rows
    .sort((a, b) => Number(b.rowKey === DEFAULT_SANDBOX) - Number(a.rowKey === DEFAULT_SANDBOX) || a.createdAt - b.createdAt || a.rowKey.localeCompare(b.rowKey))
    .map(toSandbox);
}

/** @throws SANDBOX_NOT_FOUND */
export async function getSandbox(deps: SandboxDeps, orgId: string, name: string): Promise<Sandbox> {
  if (name === DEFAULT_SANDBOX) await ensureDefault(deps, orgId);
  const entity = await findSandbox(deps, orgId, name);
  if (entity === undefined) throw new SandboxNotFoundError(printable(name));
  return toSandbox(entity);
}

/**
 * Creates a sandbox of the caller's org.
 * @throws CONFLICT when the name is taken or the org has {@link MAX_SANDBOXES_PER_ORG} sandboxes.
 */
export async function createSandbox(deps: SandboxDeps, caller: SandboxCaller, input: CreateSandboxRequest): Promise<Sandbox> {
  const existing = await listSandboxes(deps, caller.orgId);
  if (existing.some((s) => s.name === input.name)) throw new ConflictError(`A sandbox named ${input.name} already exists`);
  if (existing.length >= MAX_SANDBOXES_PER_ORG) throw new ConflictError(`The organization already has ${MAX_SANDBOXES_PER_ORG} sandboxes`);
  const entity = newEntity(caller.orgId, input.name, input.title, input.type, caller.subject, now(deps));
  try {
    await (await deps.tables(SANDBOXES_TABLE)).createEntity(entity);
  } catch (err) {
    if (isConflict(err)) throw new ConflictError(`A sandbox named ${input.name} already exists`, { cause: err });
    throw err;
  }
  return toSandbox(entity);
}

/**
 * Deletes an empty development sandbox and releases what is left of it (its empty landing zone,
 * its root key). Answers the sandbox as it was, with Adobe's `state: "deleted"`.
 *
 * @throws SANDBOX_NOT_FOUND, SANDBOX_NOT_DELETABLE (production), SANDBOX_NOT_EMPTY (naming what it holds).
 */
export async function deleteSandbox(deps: SandboxDeps, orgId: string, name: string): Promise<Omit<Sandbox, 'state'> & { state: 'deleted' }> {
  const entity = await findSandbox(deps, orgId, name);
  if (entity === undefined) throw new SandboxNotFoundError(printable(name));
  if (entity.type === 'production' || name === DEFAULT_SANDBOX) throw new SandboxNotDeletableError(name);
  const scope = { orgId, sandbox: name };
  const holdings = deps.holdings ?? [];
  const used = await Promise.all(holdings.map(async (h) => ((await h.inUse(scope)) ? h.what : undefined)));
  const holds = used.filter((what): what is string => what !== undefined);
  if (holds.length > 0) throw new SandboxNotEmptyError(name, holds);
  for (const holding of holdings) await holding.release?.(scope);
  const table = await deps.tables(SANDBOXES_TABLE);
  try {
    await table.deleteEntity(entity.partitionKey, entity.rowKey);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  return { ...toSandbox(entity), state: 'deleted' };
}

/**
 * Records as sandboxes the `{org}|{sandbox}` partitions that already hold data in the given tables
 * (sandboxes that existed before sandboxes were resources). Idempotent; a marker row makes every
 * later call one point read.
 */
export async function backfillSandboxes(deps: SandboxDeps, tenantTables: readonly string[]): Promise<number> {
  const table = await deps.tables(SANDBOXES_TABLE);
  if (await rowExists(table, MIGRATIONS_PARTITION, BACKFILL_MARKER)) return 0;
  const found = new Map<string, SandboxScope>();
  for (const name of tenantTables) {
    const source = await deps.tables(name);
    for await (const row of source.listEntities({ queryOptions: { select: ['PartitionKey'] } })) {
      const [orgId, sandbox, ...rest] = String(row.partitionKey).split('|');
      if (orgId === undefined || sandbox === undefined || rest.length > 0 || !SANDBOX_NAME_PATTERN.test(sandbox)) continue;
      found.set(`${orgId}|${sandbox}`, { orgId, sandbox });
    }
  }
  let created = 0;
  const at = now(deps);
  for (const { orgId, sandbox } of found.values()) {
    const type: SandboxType = sandbox === DEFAULT_SANDBOX ? 'production' : 'development';
    try {
      await table.createEntity(newEntity(orgId, sandbox, sandbox, type, 'cipherflow-backfill', at));
      created += 1;
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
  await table.upsertEntity({ partitionKey: MIGRATIONS_PARTITION, rowKey: BACKFILL_MARKER, sandboxes: found.size, at });
  return created;
}

// '!' is outside the org id charset, so the marker's partition is never an org's.
const MIGRATIONS_PARTITION = '!migrations';
const BACKFILL_MARKER = 'sandboxes-backfill-v1';

async function ensureDefault(deps: SandboxDeps, orgId: string): Promise<void> {
  const table = await deps.tables(SANDBOXES_TABLE);
  if (await rowExists(table, assertOrgId(orgId), DEFAULT_SANDBOX)) return;
  try {
    await table.createEntity(newEntity(orgId, DEFAULT_SANDBOX, 'Production', 'production', 'cipherflow', now(deps)));
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}

async function findSandbox(deps: SandboxDeps, orgId: string, name: string): Promise<SandboxEntity | undefined> {
  if (!SANDBOX_NAME_PATTERN.test(name)) return undefined;
  const table = await deps.tables(SANDBOXES_TABLE);
  const read = async (): Promise<SandboxEntity | undefined> => {
    try {
      return await table.getEntity<SandboxEntity>(assertOrgId(orgId), name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  const found = await read();
  if (found !== undefined || deps.backfill === undefined) return found;
  await deps.backfill();
  return read();
}


function newEntity(orgId: string, name: string, title: string, type: SandboxType, by: string, at: number): SandboxEntity {
  return { partitionKey: assertOrgId(orgId), rowKey: name, title, type, version: 1, createdAt: at, updatedAt: at, createdBy: by, modifiedBy: by };
}

function toSandbox(e: SandboxEntity): Sandbox {
  return {
    name: e.rowKey,
    title: e.title,
    state: 'active',
    type: e.type,
    isDefault: e.rowKey === DEFAULT_SANDBOX,
    eTag: e.version,
    createdDate: adobeDate(e.createdAt),
    lastModifiedDate: adobeDate(e.updatedAt),
    createdBy: e.createdBy,
    modifiedBy: e.modifiedBy,
  };
}

/** Adobe's sandbox timestamps: `2019-09-04 04:57:24` (UTC). */
function adobeDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

function now(deps: SandboxDeps): number {
  return (deps.clock ?? systemClock).now();
}

// A name from a path is the caller's input: keep it short and printable before it goes in a detail.
function printable(name: string): string {
  return name.replace(/[^a-z0-9-]/g, '_').slice(0, 64);
}
