import { createHash } from 'node:crypto';
import type { SandboxScope } from '../core/scope.js';
import type { SourceFile } from '../sources/source-reader.js';
import type { TransactionAction } from '@azure/data-tables';
import { tenantTable, where, type TableCodec, type TableFactory } from '../storage/tenant-table.js';

/**
 * What a scheduled dataflow has taken from its source, so that each file version is ingested
 * once and a re-uploaded file again:
 * - `sourcescans`, one row per flow (RowKey the flow id): the last-modified watermark of its last
 *   complete listing and the last run (tick) that listed;
 * - `sourceversions`, one row per file version enqueued (RowKey `{flowId}|{hash of path and version}`);
 * - `sourceretries`, file versions to enqueue again at the next run (their source could not be
 *   read, or their org's key was revoked, while they were transferred).
 * All keyed `{org}|{sandbox}` like every tenant table.
 */
export const SOURCE_SCANS_TABLE = 'sourcescans';
export const SOURCE_VERSIONS_TABLE = 'sourceversions';
export const SOURCE_RETRIES_TABLE = 'sourceretries';

/**
 * How far before the watermark a listing still checks files against the versions seen: a file
 * whose last-modified time is older than that is taken as seen. It covers clocks a little apart,
 * uploads that commit with an earlier time than one already listed, and SFTP clients that rename
 * a finished upload into place (a rename keeps the modification time).
 */
export const WATERMARK_GRACE_MS = 60 * 60_000;

/** One flow's listing state. */
export interface ScanState {
  readonly flowId: string;
  /** Newest last-modified time (epoch ms) of its last complete listing; 0 before the first. */
  readonly watermark: number;
  /** The run (due time, epoch ms) that listed last; a duplicate scan of it or an earlier one does nothing. */
  readonly lastTick: number;
  readonly etag: string;
}

interface ScanEntity {
  rowKey: string;
  watermark: number;
  lastTick: number;
}

const scanCodec: TableCodec<ScanState, SandboxScope, ScanEntity, Omit<ScanState, 'etag'>> = {
  toEntity: (s) => ({ rowKey: s.flowId, watermark: s.watermark, lastTick: s.lastTick }),
  fromEntity: (e) => ({ flowId: e.rowKey, watermark: e.watermark, lastTick: e.lastTick, etag: e.etag }),
};

const scans = (tables: TableFactory, scope: SandboxScope) => tenantTable(tables, SOURCE_SCANS_TABLE, scanCodec).in(scope);

/** A flow's listing state (a fresh one before its first listing). */
export async function readScanState(tables: TableFactory, scope: SandboxScope, flowId: string): Promise<ScanState> {
  return (await scans(tables, scope).find(flowId)) ?? { flowId, watermark: 0, lastTick: -1, etag: '' };
}

/**
 * Records a complete listing for run `tick`: the watermark moves to `watermark` (never back).
 * Only over the version read: `false` when another scan wrote meanwhile (its own state stands).
 */
export async function recordScan(tables: TableFactory, scope: SandboxScope, read: ScanState, tick: number, watermark: number): Promise<boolean> {
  const next = { flowId: read.flowId, watermark: Math.max(read.watermark, watermark), lastTick: Math.max(read.lastTick, tick) };
  if (read.etag === '') return (await scans(tables, scope).insertIfAbsent(next)) !== undefined;
  return (await scans(tables, scope).replace(next, read.etag)) !== undefined;
}

/** The row key of one file version of a flow: the flow id, then a hash of the path and version. */
function versionKey(flowId: string, file: Pick<SourceFile, 'path' | 'version'>): string {
  return `${flowId}|${createHash('sha256').update(JSON.stringify([file.path, file.version])).digest('base64url')}`;
}

/** The row keys of one flow sort between these two. */
const flowRows = (flowId: string) => where`RowKey gt ${`${flowId}|`} and RowKey lt ${`${flowId}}`}`;

interface VersionEntity {
  rowKey: string;
  path: string;
  version: string;
  lastModified: number;
  seenAt: number;
}

const versionCodec: TableCodec<VersionEntity, SandboxScope, VersionEntity> = {
  toEntity: (v) => v,
  fromEntity: (e) => e,
};

const versions = (tables: TableFactory, scope: SandboxScope) => tenantTable(tables, SOURCE_VERSIONS_TABLE, versionCodec).in(scope);

/** Whether this version of the file was enqueued before. */
export async function versionSeen(tables: TableFactory, scope: SandboxScope, flowId: string, file: SourceFile): Promise<boolean> {
  return versions(tables, scope).exists(versionKey(flowId, file));
}

/** Most rows one Table transaction writes (the service's limit). */
const MAX_TRANSACTION_ROWS = 100;

/**
 * Records that these versions were enqueued (after the enqueue, so a crash between can only
 * enqueue them twice), a hundred rows per transaction: they share the tenant's partition.
 */
export async function recordVersions(tables: TableFactory, scope: SandboxScope, flowId: string, files: readonly SourceFile[], now: number): Promise<void> {
  const partition = versions(tables, scope);
  const table = await tables(SOURCE_VERSIONS_TABLE);
  for (let i = 0; i < files.length; i += MAX_TRANSACTION_ROWS) {
    const rows = files.slice(i, i + MAX_TRANSACTION_ROWS).map((file) =>
      partition.entity({ rowKey: versionKey(flowId, file), path: file.path, version: file.version, lastModified: file.lastModified, seenAt: now }),
    );
    await table.submitTransaction(rows.map((row): TransactionAction => ['upsert', { ...row }, 'Replace']));
  }
}

/** A file version to enqueue again at the flow's next run. */
export interface RetryFile {
  readonly flowId: string;
  readonly file: SourceFile;
  /** Why it waits (a code: SOURCE_UNREACHABLE, CMK_ACCESS_REVOKED, ...). */
  readonly reason: string;
}

interface RetryEntity {
  rowKey: string;
  path: string;
  version: string;
  size: number;
  lastModified: number;
  reason: string;
}

const retryCodec: TableCodec<RetryFile, SandboxScope, RetryEntity> = {
  toEntity: (r) => ({
    rowKey: versionKey(r.flowId, r.file),
    path: r.file.path,
    version: r.file.version,
    size: r.file.size,
    lastModified: r.file.lastModified,
    reason: r.reason,
  }),
  fromEntity: (e) => ({
    flowId: e.rowKey.slice(0, e.rowKey.indexOf('|')),
    file: { type: 'file', path: e.path, name: e.path.slice(e.path.lastIndexOf('/') + 1), version: e.version, size: e.size, lastModified: e.lastModified },
    reason: e.reason,
  }),
};

const retries = (tables: TableFactory, scope: SandboxScope) => tenantTable(tables, SOURCE_RETRIES_TABLE, retryCodec).in(scope);

/** Puts a file version aside for the flow's next run. Idempotent. */
export async function recordRetry(tables: TableFactory, scope: SandboxScope, retry: RetryFile): Promise<void> {
  await retries(tables, scope).upsert(retry);
}

/** The flow's file versions put aside for its next run. */
export function retriesOf(tables: TableFactory, scope: SandboxScope, flowId: string): AsyncGenerator<RetryFile> {
  return retries(tables, scope).list(flowRows(flowId));
}

/** Forgets a retry once it is enqueued again. */
export async function dropRetry(tables: TableFactory, scope: SandboxScope, retry: RetryFile): Promise<void> {
  await retries(tables, scope).delete(versionKey(retry.flowId, retry.file));
}
