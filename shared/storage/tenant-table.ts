import { odata, type TableClient, type TableEntityResult } from '@azure/data-tables';
import { assertSandboxScope, type SandboxScope } from '../vault/sandbox-scope.js';

/**
 * The Table partition of everything one org's sandbox owns: every tenant-scoped table is keyed
 * `PartitionKey = {orgId}|{sandbox}`, so a query can never reach another tenant's rows.
 * @throws INVALID_REQUEST for a malformed org id or sandbox name.
 */
export function tenantPartitionKey(scope: SandboxScope): string {
  assertSandboxScope(scope);
  return `${scope.orgId}|${scope.sandbox}`;
}

/** Gives back table clients whose table exists, creating each table once per process. */
export type TableFactory = (name: string) => Promise<TableClient>;

/** Wraps a client factory so that each table is created (if absent) on first use only. */
export function createTableFactory(client: (name: string) => TableClient): TableFactory {
  const ready = new Map<string, Promise<TableClient>>();
  return (name) => {
    let table = ready.get(name);
    if (table === undefined) {
      const c = client(name);
      // createTable answers success when the table exists already (409 is handled by the SDK).
      table = c.createTable().then(() => c);
      table.catch(() => ready.delete(name));
      ready.set(name, table);
    }
    return table;
  };
}

/** True for the Table service's "not found" (a RestError with statusCode 404). */
export function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { statusCode?: unknown }).statusCode === 404;
}

/** True for the Table service's "already exists" / precondition failures (409, 412). */
/** The HTTP status of a storage RestError, if any. */
export function statusOf(err: unknown): number | undefined {
  return err instanceof Error && 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : undefined;
}

export function isConflict(err: unknown): boolean {
  const status = statusOf(err);
  return status === 409 || status === 412;
}

/**
 * Reads one row of the tenant's partition of a table; `undefined` when it has none (whether or
 * not another tenant has a row with that key).
 */
export async function findTenantEntity<T extends object>(
  tables: TableFactory,
  tableName: string,
  scope: SandboxScope,
  rowKey: string,
): Promise<TableEntityResult<T> | undefined> {
  const table = await tables(tableName);
  try {
    return await table.getEntity<T>(tenantPartitionKey(scope), rowKey);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Whether the tenant's partition of a table holds any row (one query for at most one key). */
export async function partitionHasRows(tables: TableFactory, tableName: string, scope: SandboxScope): Promise<boolean> {
  const table = await tables(tableName);
  const filter = odata`PartitionKey eq ${tenantPartitionKey(scope)}`;
  // The Table service may answer an empty page with a continuation token: read on until a row or the end.
  for await (const page of table.listEntities({ queryOptions: { filter, select: ['RowKey'] } }).byPage({ maxPageSize: 1 })) {
    if (page.length > 0) return true;
  }
  return false;
}

/** Whether a row exists (one point read of its key only; 404 is `false`). */
export async function rowExists(table: TableClient, partitionKey: string, rowKey: string): Promise<boolean> {
  try {
    await table.getEntity(partitionKey, rowKey, { queryOptions: { select: ['RowKey'] } });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
