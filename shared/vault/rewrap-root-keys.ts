import type { TableClient } from '@azure/data-tables';
import { isNotFound } from '../core/azure-errors.js';
import type { Clock } from '../core/clock.js';
import { assertOrgId, type SandboxScope } from '../core/scope.js';
import { where, type TableFilter } from '../storage/tenant-table.js';
import type { KekClient } from './kek-client.js';
import { sameKey, type KekRef, type VersionedKeyVaultKeyId } from './key-vault-key-id.js';
import { rootKeyTable, type RootKeyRecord } from './root-key-record.js';

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
  /**
   * Only records wrapped under this key now (vault and name, any version; a version given here is
   * ignored). Records under any other KEK, such as a customer key, are never unwrapped or written
   * and are counted as `skipped`. Absent: every record visited is moved to `to`, whatever wraps it,
   * so a rotation of one key (the system KEK) must set this or it would pull customer-key orgs over.
   */
  readonly onlyUnder?: KekRef;
  /** Called after each sandbox is settled (skipped ones included), so a reconciler can checkpoint `scope`. */
  readonly onProgress?: (scope: SandboxScope) => void | Promise<void>;
  readonly signal?: AbortSignal;
}

export interface RewrapRootKeysResult {
  /** Records now wrapped under `to` by this run. */
  readonly rewrapped: number;
  /** Records already wrapped under exactly `to` (nothing written). */
  readonly unchanged: number;
  /** Records under a KEK other than `onlyUnder` (nothing read from the vault, nothing written); 0 without `onlyUnder`. */
  readonly skipped: number;
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
 * A record already under the exact version of `to` costs no vault call. When `to` names no
 * version, the version the vault answers to the run's first wrap is kept for the rest of the run,
 * so only that first record can make a needless unwrap+wrap round trip (and even then nothing is
 * written). Pass a versioned `to` (read with `keys/get`) to avoid it entirely.
 *
 * @throws INVALID_REQUEST for a malformed `orgId`.
 * @throws KEY_VAULT_UNAVAILABLE, KEK_ACCESS_DENIED, KEK_DISABLED, KEK_NOT_FOUND from either KEK;
 *   records settled before the failure stay re-wrapped.
 * @throws DECRYPTION_FAILED when a record does not unwrap under its recorded KEK.
 */
export async function rewrapRootKeys(deps: RewrapRootKeysDeps, options: RewrapRootKeysOptions): Promise<RewrapRootKeysResult> {
  if (options.orgId !== undefined) assertOrgId(options.orgId);
  const counts = { rewrapped: 0, unchanged: 0, skipped: 0 };
  const run: Run = { to: options.to, onlyUnder: options.onlyUnder };
  let last: SandboxScope | undefined;
  const records = rootKeyTable(deps.tables).scan(filterFor(options));
  try {
    for await (const record of records) {
      options.signal?.throwIfAborted();
      counts[await rewrapOne(deps, record, run)] += 1;
      last = record.scope;
      await options.onProgress?.(record.scope);
    }
  } catch (err) {
    if (!isNotFound(err)) throw err;
    // No `rootkeys` table yet: nothing to re-wrap.
  }
  return { ...counts, ...(last === undefined ? {} : { last }) };
}

/** What one run wraps under (pinned to a version after its first wrap) and which records it may touch. */
interface Run {
  to: KekRef;
  readonly onlyUnder: KekRef | undefined;
}

async function rewrapOne(deps: RewrapRootKeysDeps, initial: RootKeyRecord, run: Run): Promise<'rewrapped' | 'unchanged' | 'skipped'> {
  let record = initial;
  for (let attempt = 1; ; attempt++) {
    // Checked again after a lost race: the record may have moved to a customer key meanwhile.
    if (run.onlyUnder !== undefined && !sameKey(record.kek, run.onlyUnder)) return 'skipped';
    if (isExactly(record.kek, run.to)) return 'unchanged';
    const key = await deps.vault.unwrapKey(record.kek, record.wrappedKey);
    let wrapped;
    try {
      wrapped = await deps.vault.wrapKey(run.to, key);
    } finally {
      key.fill(0);
    }
    if (run.to.version === undefined) run.to = wrapped.kek;
    if (isExactly(record.kek, wrapped.kek)) return 'unchanged';
    const sandbox = rootKeyTable(deps.tables).in(record.scope);
    const updatedAt = new Date(deps.clock.now()).toISOString();
    const next = { scope: record.scope, wrappedKey: wrapped.wrappedKey, kek: wrapped.kek, createdAt: record.createdAt, updatedAt };
    if ((await sandbox.replace(next, record.etag)) !== undefined) return 'rewrapped';
    if (attempt >= MAX_ATTEMPTS) throw new Error(`The root key of ${record.scope.orgId}/${record.scope.sandbox} kept changing during its re-wrap`);
    const current = await sandbox.find(record.scope.sandbox);
    // Deleted meanwhile (its sandbox with it): nothing is left to re-wrap.
    if (current === undefined) return 'unchanged';
    record = current;
  }
}

/** Same key and `to` names exactly the recorded version (an unversioned `to` never matches). */
function isExactly(recorded: VersionedKeyVaultKeyId, to: KekRef): boolean {
  return to.version !== undefined && sameKey(recorded, to) && recorded.version.toLowerCase() === to.version.toLowerCase();
}

function filterFor({ orgId, after }: RewrapRootKeysOptions): TableFilter | undefined {
  if (after === undefined) return orgId === undefined ? undefined : where`PartitionKey eq ${orgId}`;
  const rest = where`(PartitionKey gt ${after.orgId} or (PartitionKey eq ${after.orgId} and RowKey gt ${after.sandbox}))`;
  return orgId === undefined ? rest : where`PartitionKey eq ${orgId} and (PartitionKey gt ${after.orgId} or (PartitionKey eq ${after.orgId} and RowKey gt ${after.sandbox}))`;
}
