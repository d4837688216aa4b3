import { z } from 'zod';
import { DEFAULT_SANDBOX, SANDBOX_NAME_PATTERN, type OrgScope, type SandboxScope } from '../core/scope.js';
import { AppError, ConflictError } from '../errors.js';
import { onePartition, orgTable, tableRepository, tenantScopesIn, type TableCodec, type TableFactory } from '../storage/tenant-table.js';
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

/** A sandbox as stored (the org is its partition). */
interface SandboxRecord {
  readonly orgId: string;
  readonly name: string;
  readonly title: string;
  readonly type: SandboxType;
  readonly version: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly createdBy: string;
  readonly modifiedBy: string;
}

interface SandboxEntity {
  rowKey: string;
  title: string;
  type: SandboxType;
  version: number;
  createdAt: number;
  updatedAt: number;
  createdBy: string;
  modifiedBy: string;
}

const codec: TableCodec<SandboxRecord, OrgScope, SandboxEntity> = {
  toEntity: ({ orgId: _, name, ...columns }) => ({ rowKey: name, ...columns }),
  fromEntity: (e, { orgId }) => ({
    orgId,
    name: e.rowKey,
    title: e.title,
    type: e.type,
    version: e.version,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
    createdBy: e.createdBy,
    modifiedBy: e.modifiedBy,
  }),
};

const sandboxesOf = (deps: Pick<SandboxDeps, 'tables'>, orgId: string) => orgTable(deps.tables, SANDBOXES_TABLE, codec).in({ orgId });

/** Whether a sandbox exists. `prod` always does. */
export async function sandboxExists(deps: SandboxDeps, scope: SandboxScope): Promise<boolean> {
  if (scope.sandbox === DEFAULT_SANDBOX) return true;
  return (await findSandbox(deps, scope.orgId, scope.sandbox)) !== undefined;
}

/** The org's sandboxes, the production default first, then by creation. */
export async function listSandboxes(deps: SandboxDeps, orgId: string): Promise<Sandbox[]> {
  await deps.backfill?.();
  await ensureDefault(deps, orgId);
  const rows: SandboxRecord[] = [];
  for await (const sandbox of sandboxesOf(deps, orgId).list()) rows.push(sandbox);
  return rows
    .sort((a, b) => Number(b.name === DEFAULT_SANDBOX) - Number(a.name === DEFAULT_SANDBOX) || a.createdAt - b.createdAt || a.name.localeCompare(b.name))
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
  const record = newSandbox(caller.orgId, input.name, input.title, input.type, caller.subject, now(deps));
  await sandboxesOf(deps, caller.orgId).insert(record, (cause) => new ConflictError(`A sandbox named ${input.name} already exists`, { cause }));
  return toSandbox(record);
}

/**
 * Deletes an empty development sandbox and releases what is left of it (its empty landing zone,
 * its root key). Answers the sandbox as it was, with Adobe's `state: "deleted"`.
 *
 * @throws SANDBOX_NOT_FOUND, SANDBOX_NOT_DELETABLE (production), SANDBOX_NOT_EMPTY (naming what it holds).
 */
export async function deleteSandbox(deps: SandboxDeps, orgId: string, name: string): Promise<Omit<Sandbox, 'state'> & { state: 'deleted' }> {
  const sandbox = await findSandbox(deps, orgId, name);
  if (sandbox === undefined) throw new SandboxNotFoundError(printable(name));
  if (sandbox.type === 'production' || name === DEFAULT_SANDBOX) throw new SandboxNotDeletableError(name);
  const scope = { orgId, sandbox: name };
  const holdings = deps.holdings ?? [];
  const used = await Promise.all(holdings.map(async (h) => ((await h.inUse(scope)) ? h.what : undefined)));
  const holds = used.filter((what): what is string => what !== undefined);
  if (holds.length > 0) throw new SandboxNotEmptyError(name, holds);
  for (const holding of holdings) await holding.release?.(scope);
  await sandboxesOf(deps, orgId).delete(name);
  return { ...toSandbox(sandbox), state: 'deleted' };
}

/**
 * Records as sandboxes the `{org}|{sandbox}` partitions that already hold data in the given tables
 * (sandboxes that existed before sandboxes were resources). Idempotent; a marker row makes every
 * later call one point read.
 */
export async function backfillSandboxes(deps: SandboxDeps, tenantTables: readonly string[]): Promise<number> {
  const migrations = tableRepository(() => deps.tables(SANDBOXES_TABLE), onePartition(MIGRATIONS_PARTITION), markerCodec).in();
  if (await migrations.exists(BACKFILL_MARKER)) return 0;
  const found = new Map<string, SandboxScope>();
  for (const name of tenantTables) {
    for await (const scope of tenantScopesIn(deps.tables, name)) found.set(`${scope.orgId}|${scope.sandbox}`, scope);
  }
  let created = 0;
  const at = now(deps);
  for (const { orgId, sandbox } of found.values()) {
    const type: SandboxType = sandbox === DEFAULT_SANDBOX ? 'production' : 'development';
    if ((await sandboxesOf(deps, orgId).insertIfAbsent(newSandbox(orgId, sandbox, sandbox, type, 'cipherflow-backfill', at))) !== undefined) created += 1;
  }
  await migrations.upsert({ sandboxes: found.size, at });
  return created;
}

// '!' is outside the org id charset, so the marker's partition is never an org's.
const MIGRATIONS_PARTITION = '!migrations';
const BACKFILL_MARKER = 'sandboxes-backfill-v1';

/** The backfill's marker row: that it ran, how many sandboxes it found, and when. */
interface BackfillMarker {
  readonly sandboxes: number;
  readonly at: number;
}

const markerCodec: TableCodec<BackfillMarker, void, BackfillMarker & { rowKey: string }> = {
  toEntity: (marker) => ({ rowKey: BACKFILL_MARKER, ...marker }),
  fromEntity: (e) => ({ sandboxes: e.sandboxes, at: e.at }),
};

async function ensureDefault(deps: SandboxDeps, orgId: string): Promise<void> {
  const sandboxes = sandboxesOf(deps, orgId);
  if (await sandboxes.exists(DEFAULT_SANDBOX)) return;
  await sandboxes.insertIfAbsent(newSandbox(orgId, DEFAULT_SANDBOX, 'Production', 'production', 'cipherflow', now(deps)));
}

async function findSandbox(deps: SandboxDeps, orgId: string, name: string): Promise<SandboxRecord | undefined> {
  if (!SANDBOX_NAME_PATTERN.test(name)) return undefined;
  const sandboxes = sandboxesOf(deps, orgId);
  const found = await sandboxes.find(name);
  if (found !== undefined || deps.backfill === undefined) return found;
  await deps.backfill();
  return sandboxes.find(name);
}

function newSandbox(orgId: string, name: string, title: string, type: SandboxType, by: string, at: number): SandboxRecord {
  return { orgId, name, title, type, version: 1, createdAt: at, updatedAt: at, createdBy: by, modifiedBy: by };
}

function toSandbox(e: SandboxRecord): Sandbox {
  return {
    name: e.name,
    title: e.title,
    state: 'active',
    type: e.type,
    isDefault: e.name === DEFAULT_SANDBOX,
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
