import type { SandboxScope } from '../core/scope.js';
import { openConnection, type BaseConnectionDeps } from '../flows/base-connections.js';
import { findScheduledFlow } from '../flows/find-active-flows.js';
import { AppError } from '../errors.js';
import type { SourceFile, SourceReader } from '../sources/source-reader.js';
import { ingestVersion, waitReasonOf, type IngestionDeps, type RunOutcome } from './ingest-landed-file.js';
import type { FileJob } from './source-jobs.js';
import { recordRetry } from './source-versions.js';

/** What became of one file of a customer's storage. */
export type SourceFileOutcome =
  | { readonly kind: 'skipped'; readonly reason: 'no-such-flow' }
  | { readonly kind: 'done'; readonly run: RunOutcome }
  | { readonly kind: 'waiting'; readonly code: string };

/**
 * Ingests one version of one file of a scheduled flow's source through the same pipeline as a
 * landed file (decrypt as a stream, verify, store encrypted, commit a batch once): its run is
 * keyed by the flow, the file's path and its version, so a redelivered job resumes or skips it.
 * The file is read exactly at that version: one that changed meanwhile fails with
 * SOURCE_FILE_CHANGED, and its new version is taken by the next scheduled run; one deleted or
 * moved meanwhile fails with SOURCE_PATH_NOT_FOUND at once (no retry could read it).
 *
 * When the source cannot be read (unreachable, credential refused, host key changed, address
 * refused) or the org's key is revoked or Key Vault unavailable, the run stays in progress and
 * the file is put aside for the flow's next scheduled run, which enqueues it again: never
 * skipped, never ingested twice.
 *
 * @throws transient faults (storage), which the queue retries.
 */
export async function ingestSourceFile(deps: IngestionDeps, connections: BaseConnectionDeps, job: FileJob): Promise<SourceFileOutcome> {
  const scope: SandboxScope = { orgId: job.orgId, sandbox: job.sandbox };
  const flow = await findScheduledFlow(connections, scope, job.flowId);
  if (flow === undefined) return { kind: 'skipped', reason: 'no-such-flow' };
  const file: SourceFile = {
    type: 'file',
    path: job.path,
    name: job.path.slice(job.path.lastIndexOf('/') + 1),
    size: job.size,
    lastModified: job.lastModified,
    version: job.version,
  };
  let reader: SourceReader | undefined;
  try {
    reader = await openConnection(connections, scope, flow.baseConnectionId);
    const source = reader;
    const run = await ingestVersion(deps, { ...scope, relativePath: job.path }, flow, { etag: job.version, size: job.size, open: () => source.open(file) }, true);
    return { kind: 'done', run };
  } catch (err) {
    if (waitReasonOf(err) === undefined || !(err instanceof AppError)) throw err;
    await recordRetry(connections.tables, scope, { flowId: job.flowId, file, reason: err.code });
    deps.log?.('source-file-waiting', { flowId: job.flowId, code: err.code });
    return { kind: 'waiting', code: err.code };
  } finally {
    await reader?.close();
  }
}
