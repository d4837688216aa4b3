import type { TableClient } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { Clock } from './clock.js';
import type { KekClient } from './kek-client.js';
import { sameKey, type KekRef } from './key-vault-key-id.js';
import { statusOf } from '../storage/tenant-table.js';
import { parseRootKeyEntity, rootKeyColumns, type RootKeyRecord } from './root-key-record.js';
import { assertOrgId, type SandboxScope } from './sandbox-scope.js';

export interface RewrapRootKeysDeps {
  /** The `rootkeys` table. */
  readonly tables: TableClient;
  readonly vault: KekClient;
  readonly clock: Clock;
}

export interface RewrapRootKeysOptions {
  /** Only this org's sandboxes; all orgs when absent. */
  readonly orgId?: string;
  /** The KEK to wrap under from now on (its current version when unversioned). */
  readonly to: KekRef;
  /** Resume after this sandbox (the `last` of an interrupted run); records are visited in key order. */
  readonly after?: SandboxScope;
  /** Called after each sandbox is settled, so a reconciler can checkpoint `scope`. */
  readonly onProgress?: (scope: SandboxScope) => void | Promise<void>;
  readonly signal?: AbortSignal;
}

export interface RewrapRootKeysResult {
  /** Records now wrapped under `to` by this run. */
  readonly rewrapped: number;
  /** Records already wrapped under exactly `to` (nothing written). */
  readonly unchanged: number;
  /** The last sandbox settled, to pass as `after` when resuming. */
  readonly last?: SandboxScope;
}

// A concurrent writer (another re-wrap) changed the record between read and write: re-read it and
// decide again, a bounded number of times.
const MAX_ATTEMPTS = 3;

/**
 * Re-wraps sandbox root keys under a new KEK (a new version, or a customer key). Only the small
 * root key records change; no stored object is read or rewritten, so the cost grows with the
 * number of sandboxes, not with the data. Each record is replaced with If-Match on its ETag and
 * is either wholly old or wholly new, so a run can stop anywhere and be resumed (`after`).
 *
 * @throws INVALID_REQUEST for a malformed `orgId`.
 * @throws KEY_VAULT_UNAVAILABLE, KEK_ACCESS_DENIED, KEK_DISABLED, KEK_NOT_FOUND from either KEK;
 *   records settled before the failure stay re-wrapped.
 * @throws DECRYPTION_FAILED when a record does not unwrap under its recorded KEK.
 */
export async function rewrapRootKeys(deps: RewrapRootKeysDeps, options: RewrapRootKeysOptions): Promise<RewrapRootKeysResult> {
  if (options.orgId !== undefined) assertOrgId(options.orgId);
  let rewrapped = 0;
  let unchanged = 0;
  let last: SandboxScope | undefined;
  const filter = filterFor(options);
  const entities = deps.tables.listEntities<Record<string, unknown>>(filter === '' ? {} : { queryOptions: { filter } });
  try {
    for await (const entity of entities) {
      options.signal?.throwIfAborted();
      const record = parseRootKeyEntity(entity);
      if (await rewrapOne(deps, record, options.to)) rewrapped += 1;
      else unchanged += 1;
      last = record.scope;
      await options.onProgress?.(record.scope);
    }
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
    // No `rootkeys` table yet: nothing to re-wrap.
  }
  return { rewrapped, unchanged, ...(last === undefined ? {} : { last }) };
}

async function rewrapOne(deps: RewrapRootKeysDeps, initial: RootKeyRecord, to: KekRef): Promise<boolean> {
  let record = initial;
  for (let attempt = 1; ; attempt++) {
    if (sameKey(record.kek, to) && to.version !== undefined && record.kek.version === to.version) return false;
    const key = await deps.vault.unwrapKey(record.kek, record.wrappedKey);
    let wrapped;
    try {
      wrapped = await deps.vault.wrapKey(to, key);
    } finally {
      key.fill(0);
    }
    if (sameKey(wrapped.kek, record.kek) && wrapped.kek.version === record.kek.version) return false;
    try {
      await deps.tables.updateEntity(
        {
          partitionKey: record.scope.orgId,
          rowKey: record.scope.sandbox,
          ...rootKeyColumns(wrapped.wrappedKey, wrapped.kek, record.createdAt, new Date(deps.clock.now()).toISOString()),
        },
        'Replace',
        { etag: record.etag },
      );
      return true;
    } catch (err) {
      if (statusOf(err) !== 412 || attempt >= MAX_ATTEMPTS) throw err;
      record = parseRootKeyEntity(await deps.tables.getEntity<Record<string, unknown>>(record.scope.orgId, record.scope.sandbox));
    }
  }
}

function filterFor(options: RewrapRootKeysOptions): string {
  const clauses: string[] = [];
  if (options.orgId !== undefined) clauses.push(odata`PartitionKey eq ${options.orgId}`);
  const after = options.after;
  if (after !== undefined) {
    clauses.push(odata`(PartitionKey gt ${after.orgId} or (PartitionKey eq ${after.orgId} and RowKey gt ${after.sandbox}))`);
  }
  return clauses.join(' and ');
}
