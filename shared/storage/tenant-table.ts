import { odata, type TableClient, type TableEntity, type TableEntityResult } from '@azure/data-tables';
import { isAlreadyExists, isNotFound, isPreconditionFailed } from '../core/azure-errors.js';
import { assertOrgId, assertSandboxScope, isOrgId, SANDBOX_NAME_PATTERN, type OrgScope, type SandboxScope } from '../core/scope.js';

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

declare const tableFilter: unique symbol;

/** An OData filter whose values the SDK's `odata` quoted and escaped: made by {@link where} only. */
export type TableFilter = string & { readonly [tableFilter]: true };

/**
 * Builds a {@link TableFilter} with the SDK's `odata` tag: `` where`flowId eq ${id}` `` quotes and
 * escapes each value (a string's `'` doubled, a Date as `datetime'…'`), so no value can end its
 * literal and change the query. Filters are never concatenated from strings; a filter given as a
 * value would be quoted as a string literal, so write each filter whole.
 */
export function where(strings: TemplateStringsArray, ...values: unknown[]): TableFilter {
  return odata(strings, ...values) as TableFilter;
}

// Both operands were built by `where`, so joining them adds no unquoted value.
function both(first: TableFilter, second: TableFilter | undefined): TableFilter {
  return second === undefined ? first : (`${first} and (${second})` as TableFilter);
}

/** How a table's PartitionKey names the scope its rows belong to. */
export interface Partitioning<S> {
  /** The PartitionKey of `scope`. @throws INVALID_REQUEST for a malformed scope. */
  key(scope: S): string;
  /** The scope a PartitionKey names; `undefined` for a row of another layout (a marker row). */
  parse(partitionKey: string): { readonly scope: S } | undefined;
}

/**
 * The Table partition of everything one org's sandbox owns: every tenant-scoped table is keyed
 * `PartitionKey = {orgId}|{sandbox}`, so a query can never reach another tenant's rows.
 * @throws INVALID_REQUEST for a malformed org id or sandbox name.
 */
export function tenantPartitionKey(scope: SandboxScope): string {
  assertSandboxScope(scope);
  return `${scope.orgId}|${scope.sandbox}`;
}

/** Tenant tables: one partition per org and sandbox, `{orgId}|{sandbox}`. */
export const bySandbox: Partitioning<SandboxScope> = {
  key: tenantPartitionKey,
  parse(partitionKey) {
    const [orgId, sandbox, ...rest] = partitionKey.split('|');
    if (orgId === undefined || sandbox === undefined || rest.length > 0) return undefined;
    if (!isOrgId(orgId) || !SANDBOX_NAME_PATTERN.test(sandbox)) return undefined;
    return { scope: { orgId, sandbox } };
  },
};

/** Org-wide tables: one partition per org, the org id itself. */
export const byOrg: Partitioning<OrgScope> = {
  key: (scope) => assertOrgId(scope.orgId),
  parse: (partitionKey) => (isOrgId(partitionKey) ? { scope: { orgId: partitionKey } } : undefined),
};

/** A table (or part of one) whose rows all live in one fixed partition. */
export function onePartition(partitionKey: string): Partitioning<void> {
  return {
    key: () => partitionKey,
    parse: (key) => (key === partitionKey ? { scope: undefined } : undefined),
  };
}

/** The columns of a row as the store writes them: its RowKey and the rest (not the PartitionKey). */
export interface RowColumns {
  readonly rowKey: string;
}

/** A row as read: its columns, its RowKey and its ETag (for If-Match writes). */
export type StoredRow<E extends RowColumns> = TableEntityResult<E> & { readonly rowKey: string };

/**
 * A store's one mapping between its records and its rows. `toEntity` gives the RowKey and columns
 * of a record; the repository adds the PartitionKey of the scope it writes in. `fromEntity` gets
 * the row with its ETag, and the scope it was read in. `W` is what a write takes: the record as
 * read (`R`) when it carries nothing the table gives, else `R` without it (its ETag).
 */
export interface TableCodec<R, S, E extends RowColumns, W = R> {
  toEntity(record: W): E;
  /** @throws when the row is not one of this store's (corrupt or foreign data). */
  fromEntity(row: StoredRow<E>, scope: S): R;
}

/** One scope's partition of a table: every read and write stays inside it. */
export interface TablePartition<R, E extends RowColumns, W = R> {
  readonly partitionKey: string;
  /** The record at `rowKey`; `undefined` when the partition has none (whatever other partitions hold). */
  find(rowKey: string): Promise<R | undefined>;
  /** Whether a row exists (a point read of its key only). */
  exists(rowKey: string): Promise<boolean>;
  /** Some columns of a row, as stored (a point read of those only, past the codec); `undefined` when absent. */
  findColumns<K extends Exclude<keyof E, 'rowKey'> & string>(rowKey: string, columns: readonly K[]): Promise<Partial<Pick<E, K>> | undefined>;
  /** The partition's records, in Table order, those `filter` selects when given. */
  list(filter?: TableFilter): AsyncGenerator<R>;
  /** The RowKeys of the partition's rows (only the key column is read). */
  rowKeys(filter?: TableFilter): AsyncGenerator<string>;
  /** Whether the partition holds any row (one query for at most one key). */
  hasRows(): Promise<boolean>;
  /**
   * Inserts a record if its row is absent; the stored record (with its ETag) is returned.
   * @throws `conflict(storageError)` (the domain's error) when the row exists; without it, the storage error.
   */
  insert(record: W, conflict?: (cause: unknown) => Error): Promise<R>;
  /** Inserts a record if its row is absent; `undefined` when it exists (nothing written). */
  insertIfAbsent(record: W): Promise<R | undefined>;
  /** Writes a record whether or not its row exists (whole row, last writer wins). */
  upsert(record: W): Promise<void>;
  /**
   * Replaces a record's whole row, only if it is unchanged since it was read (If-Match `etag`; any
   * version when absent). @returns the record with its new ETag, or `undefined` when the row
   * changed (412) or was deleted (404) meanwhile: read it again and decide again.
   */
  replace(record: W, etag?: string): Promise<R | undefined>;
  /** Changes some columns of a row (Merge), with If-Match `etag` when given. @returns false when the row changed or is gone. */
  merge(rowKey: string, columns: Partial<Omit<E, 'rowKey'>>, etag?: string): Promise<boolean>;
  /** Deletes a row, with If-Match `etag` when given. @returns false when it was absent or changed. */
  delete(rowKey: string, etag?: string): Promise<boolean>;
  /** The full entity of a record (PartitionKey included), for writes the repository does not make (transactions). */
  entity(record: W): TableEntity<E>;
}

/** A table of one store: its records partitioned by scope, mapped by its codec. */
export interface TableRepository<R, S, E extends RowColumns, W = R> {
  /** The partition of `scope`. @throws INVALID_REQUEST for a malformed scope. */
  in(scope: S): TablePartition<R, E, W>;
  /**
   * Every partition's records (sweeps, reconcilers, migrations), those `filter` selects when given;
   * rows whose PartitionKey is of another layout are skipped.
   */
  scan(filter?: TableFilter): AsyncGenerator<R>;
}

/** Where a repository gets its table: a client, or a factory call (which creates the table once). */
export type TableSource = TableClient | (() => Promise<TableClient>);

/** A repository over any table: how it is partitioned and how records map to rows. */
export function tableRepository<R, S, E extends RowColumns, W = R>(
  source: TableSource,
  partitioning: Partitioning<S>,
  codec: TableCodec<R, S, E, W>,
): TableRepository<R, S, E, W> {
  const client = typeof source === 'function' ? source : () => Promise.resolve(source);
  const read = (row: TableEntityResult<E>, scope: S): R => codec.fromEntity(row, scope);

  function partition(scope: S): TablePartition<R, E, W> {
    const partitionKey = partitioning.key(scope);
    const entity = (record: W): TableEntity<E> => ({ ...codec.toEntity(record), partitionKey });
    const inPartition = (filter: TableFilter | undefined) => both(where`PartitionKey eq ${partitionKey}`, filter);
    const written = (row: TableEntity<E>, etag: string | undefined): R => read({ ...row, etag: etag ?? '' }, scope);
    return {
      partitionKey,
      async find(rowKey) {
        const table = await client();
        try {
          return read(await table.getEntity<E>(partitionKey, rowKey), scope);
        } catch (err) {
          if (isNotFound(err)) return undefined;
          throw err;
        }
      },
      async exists(rowKey) {
        const table = await client();
        try {
          await table.getEntity(partitionKey, rowKey, { queryOptions: { select: ['RowKey'] } });
          return true;
        } catch (err) {
          if (isNotFound(err)) return false;
          throw err;
        }
      },
      async findColumns<K extends Exclude<keyof E, 'rowKey'> & string>(rowKey: string, columns: readonly K[]) {
        const table = await client();
        try {
          // Only what was selected comes back, and a column the row lacks not at all: hence Partial.
          return await table.getEntity<Partial<Pick<E, K>>>(partitionKey, rowKey, { queryOptions: { select: [...columns] } });
        } catch (err) {
          if (isNotFound(err)) return undefined;
          throw err;
        }
      },
      async *list(filter) {
        const table = await client();
        for await (const row of table.listEntities<E>({ queryOptions: { filter: inPartition(filter) } })) yield read(row, scope);
      },
      async *rowKeys(filter) {
        const table = await client();
        const rows = table.listEntities<{ rowKey: string }>({ queryOptions: { filter: inPartition(filter), select: ['RowKey'] } });
        for await (const row of rows) yield row.rowKey;
      },
      async hasRows() {
        return hasRows(await client(), inPartition(undefined));
      },
      async insert(record, conflict) {
        const table = await client();
        const row = entity(record);
        try {
          return written(row, (await table.createEntity(row)).etag);
        } catch (err) {
          if (conflict !== undefined && isAlreadyExists(err)) throw conflict(err);
          throw err;
        }
      },
      async insertIfAbsent(record) {
        const table = await client();
        const row = entity(record);
        try {
          return written(row, (await table.createEntity(row)).etag);
        } catch (err) {
          if (isAlreadyExists(err)) return undefined;
          throw err;
        }
      },
      async upsert(record) {
        await (await client()).upsertEntity(entity(record), 'Replace');
      },
      async replace(record, etag) {
        const table = await client();
        const row = entity(record);
        try {
          return written(row, (await table.updateEntity(row, 'Replace', etag === undefined ? {} : { etag })).etag);
        } catch (err) {
          if (isPreconditionFailed(err) || isNotFound(err)) return undefined;
          throw err;
        }
      },
      async merge(rowKey, columns, etag) {
        const table = await client();
        try {
          await table.updateEntity({ ...columns, partitionKey, rowKey }, 'Merge', etag === undefined ? {} : { etag });
          return true;
        } catch (err) {
          if (isPreconditionFailed(err) || isNotFound(err)) return false;
          throw err;
        }
      },
      async delete(rowKey, etag) {
        const table = await client();
        try {
          await table.deleteEntity(partitionKey, rowKey, etag === undefined ? {} : { etag });
          return true;
        } catch (err) {
          if (isPreconditionFailed(err) || isNotFound(err)) return false;
          throw err;
        }
      },
      entity,
    };
  }

  return {
    in: partition,
    async *scan(filter) {
      const table = await client();
      for await (const row of table.listEntities<E>(filter === undefined ? {} : { queryOptions: { filter } })) {
        const owner = partitioning.parse(row.partitionKey ?? '');
        if (owner !== undefined) yield read(row, owner.scope);
      }
    },
  };
}

/** A tenant table (partitioned by org and sandbox) opened through the app's table factory. */
export function tenantTable<R, E extends RowColumns, W = R>(
  tables: TableFactory,
  name: string,
  codec: TableCodec<R, SandboxScope, E, W>,
): TableRepository<R, SandboxScope, E, W> {
  return tableRepository(() => tables(name), bySandbox, codec);
}

/** An org-wide table (partitioned by org) opened through the app's table factory. */
export function orgTable<R, E extends RowColumns, W = R>(
  tables: TableFactory,
  name: string,
  codec: TableCodec<R, OrgScope, E, W>,
): TableRepository<R, OrgScope, E, W> {
  return tableRepository(() => tables(name), byOrg, codec);
}

/** Whether the tenant's partition of a table holds any row, whatever its rows are (a sandbox's holdings). */
export async function partitionHasRows(tables: TableFactory, tableName: string, scope: SandboxScope): Promise<boolean> {
  return hasRows(await tables(tableName), where`PartitionKey eq ${tenantPartitionKey(scope)}`);
}

/** The sandboxes whose partition of a tenant table holds rows (only the key column is read). */
export async function* tenantScopesIn(tables: TableFactory, tableName: string): AsyncGenerator<SandboxScope> {
  const table = await tables(tableName);
  for await (const row of table.listEntities({ queryOptions: { select: ['PartitionKey'] } })) {
    const owner = bySandbox.parse(String(row.partitionKey));
    if (owner !== undefined) yield owner.scope;
  }
}

async function hasRows(table: TableClient, filter: TableFilter): Promise<boolean> {
  // The Table service may answer an empty page with a continuation token: read on until a row or the end.
  for await (const page of table.listEntities({ queryOptions: { filter, select: ['RowKey'] } }).byPage({ maxPageSize: 1 })) {
    if (page.length > 0) return true;
  }
  return false;
}
