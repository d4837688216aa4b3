import type { Clock } from '../core/clock.js';
import type { SandboxScope } from '../core/scope.js';
import { AppError } from '../errors.js';
import { openConnection, type BaseConnectionDeps } from '../flows/base-connections.js';
import { cloudSelection, selects, type CloudSelection } from '../flows/cloud-source-path.js';
import { findScheduledFlow } from '../flows/find-active-flows.js';
import { failRun, startRun, type RunError } from '../flows/runs.js';
import type { SourceFile, SourceReader } from '../sources/source-reader.js';
import { FILE_JOB, type EnqueueJob, type ScanJob } from './source-jobs.js';
import { dropRetry, readScanState, recordScan, recordVersions, retriesOf, versionSeen, WATERMARK_GRACE_MS } from './source-versions.js';

export interface ScanDeps {
  readonly connections: BaseConnectionDeps;
  readonly enqueue: EnqueueJob;
  readonly clock: Clock;
  readonly log: (event: string, fields: Record<string, unknown>) => void;
}

/** What one scan did. */
export type ScanOutcome =
  | { readonly kind: 'skipped'; readonly reason: 'no-such-flow' | 'duplicate' }
  | { readonly kind: 'listed'; readonly enqueued: number; readonly retried: number }
  | { readonly kind: 'failed'; readonly code: string };

/**
 * One scheduled run of a flow reading a customer's storage: lists its source (the path's file,
 * or its folder's files matching the pattern, subfolders too when recursive) and enqueues one
 * job per file version not taken before, then the versions put aside for this run (their
 * source or key was unavailable while they were transferred). A file whose last-modified time is
 * older than the flow's watermark (less a grace period) was seen by a complete listing before
 * and is not looked up; newer ones are checked against the versions seen, so a re-uploaded file
 * is taken again and an unchanged one never twice. Each version is enqueued before it is
 * recorded: a crash between can enqueue it twice, never lose it (its run is started once).
 *
 * A source that cannot be listed (unreachable, a refused credential, a changed host key, a
 * missing folder, a refused address, the org's key revoked) records a failed run for this
 * schedule with the code, and changes nothing else: the next schedule lists again. Storage
 * faults throw (the queue retries the scan).
 */
export async function scanSource(deps: ScanDeps, job: ScanJob): Promise<ScanOutcome> {
  const scope: SandboxScope = { orgId: job.orgId, sandbox: job.sandbox };
  const tables = deps.connections.tables;
  const flow = await findScheduledFlow(deps.connections, scope, job.flowId);
  if (flow === undefined) return { kind: 'skipped', reason: 'no-such-flow' };
  const state = await readScanState(tables, scope, job.flowId);
  if (state.lastTick >= job.tick) return { kind: 'skipped', reason: 'duplicate' };

  let reader: SourceReader | undefined;
  let enqueued = 0;
  let newest = 0;
  try {
    reader = await openConnection(deps.connections, scope, flow.baseConnectionId);
    const selection = cloudSelection(flow.source.path, flow.source.recursive ?? false);
    const since = state.watermark - WATERMARK_GRACE_MS;
    // A chunk at a time: its versions looked up and its jobs enqueued in parallel, then recorded
    // in one transaction, so memory stays bounded and a large folder costs few round trips.
    let chunk: SourceFile[] = [];
    const take = async (): Promise<void> => {
      const seen = await inParallel(chunk, (file) => versionSeen(tables, scope, job.flowId, file));
      const fresh = chunk.filter((_, i) => seen[i] !== true);
      await inParallel(fresh, (file) => deps.enqueue(fileJob(job, file)));
      await recordVersions(tables, scope, job.flowId, fresh, deps.clock.now());
      enqueued += fresh.length;
      chunk = [];
    };
    for await (const file of selectedFiles(reader, selection)) {
      newest = Math.max(newest, file.lastModified);
      if (file.lastModified < since) continue;
      chunk.push(file);
      if (chunk.length >= SCAN_CHUNK) await take();
    }
    await take();
  } catch (err) {
    const error = listingErrorOf(err);
    if (error === undefined) throw err;
    await recordFailedScan(deps, scope, job, flow.source.path, error);
    deps.log('source-scan-failed', { flowId: job.flowId, tick: job.tick, code: error.code });
    return { kind: 'failed', code: error.code };
  } finally {
    await reader?.close();
  }
  let retried = 0;
  for await (const retry of retriesOf(tables, scope, job.flowId)) {
    await deps.enqueue(fileJob(job, retry.file));
    await dropRetry(tables, scope, retry);
    retried++;
  }
  await recordScan(tables, scope, state, job.tick, newest);
  deps.log('source-scanned', { flowId: job.flowId, tick: job.tick, enqueued, retried });
  return { kind: 'listed', enqueued, retried };
}

/** Files a scan handles together, and how many of their table reads or enqueues run at once. */
const SCAN_CHUNK = 100;
const SCAN_PARALLELISM = 16;

/** `work` over every item, at most {@link SCAN_PARALLELISM} at a time; the results in order. */
async function inParallel<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(SCAN_PARALLELISM, items.length) }, worker));
  return results;
}

/** The files a selection takes: the one file the path names, or its folder's matching files. */
async function* selectedFiles(reader: SourceReader, selection: CloudSelection): AsyncGenerator<SourceFile> {
  if (selection.maybeFile !== undefined) {
    const file = await reader.stat(selection.maybeFile);
    if (file !== undefined) {
      yield file;
      return;
    }
  }
  for await (const file of reader.walk(selection.folder, { recursive: selection.recursive })) {
    if (selects(selection, file.path)) yield file;
  }
}

function fileJob(job: ScanJob, file: SourceFile) {
  return {
    kind: FILE_JOB,
    orgId: job.orgId,
    sandbox: job.sandbox,
    flowId: job.flowId,
    path: file.path,
    version: file.version,
    size: file.size,
    lastModified: file.lastModified,
  } as const;
}

/** Codes that fail a listing for this schedule (the next one tries again); anything else is thrown. */
const LISTING_FAILURES = new Set([
  'SOURCE_UNREACHABLE',
  'SOURCE_AUTH_FAILED',
  'SOURCE_HOST_KEY_MISMATCH',
  'SOURCE_PATH_NOT_FOUND',
  'ADDRESS_NOT_ALLOWED',
  'CMK_ACCESS_REVOKED',
  'KEY_VAULT_UNAVAILABLE',
  'NOT_FOUND',
  'INVALID_REQUEST',
  'DECRYPTION_FAILED',
]);

function listingErrorOf(err: unknown): RunError | undefined {
  if (!(err instanceof AppError) || !LISTING_FAILURES.has(err.code)) return undefined;
  switch (err.code) {
    case 'NOT_FOUND':
      return { code: 'CONNECTION_NOT_FOUND', message: "The dataflow's base connection no longer exists." };
    case 'INVALID_REQUEST':
      return { code: 'CONNECTION_INVALID', message: "The dataflow's base connection can no longer be used; create a new one." };
    case 'DECRYPTION_FAILED':
      return { code: 'CONNECTION_INVALID', message: "The dataflow's base connection's stored credential could not be read." };
    default:
      return { code: err.code, message: err.detail };
  }
}

/**
 * A listing that failed is a run of its own, one per schedule: named by the flow's source path
 * and the due time, so a duplicate scan of the same run records it once.
 */
async function recordFailedScan(deps: ScanDeps, scope: SandboxScope, job: ScanJob, sourcePath: string, error: RunError): Promise<void> {
  const { run } = await startRun(deps.connections, scope, { flowId: job.flowId, fileName: sourcePath, blobETag: `schedule-${job.tick}`, inputBytes: 0 });
  if (run.status === 'inProgress') await failRun(deps.connections, scope, run.id, { errors: [error], metrics: {} });
}
