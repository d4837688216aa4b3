import { z } from 'zod';
import { isFlowServiceId } from '../flows/flow-service-id.js';

/**
 * The work a scheduled dataflow puts on the ingestion queue (beside the landing account's
 * BlobCreated events): one `scan` per due run, which lists the customer's storage, then one
 * `file` per file version to take, so transfers spread over every instance the queue feeds.
 */
const FlowId = z.string().refine(isFlowServiceId, 'Must be a flow id');
const Tenant = { orgId: z.string().min(1).max(256), sandbox: z.string().min(1).max(256), flowId: FlowId };

export const SCAN_JOB = 'cipherflow.source-scan';
export const FILE_JOB = 'cipherflow.source-file';

/** List the flow's source for the run due at `tick` (epoch ms). */
export const ScanJob = z.object({ kind: z.literal(SCAN_JOB), ...Tenant, tick: z.int().min(0) });
export type ScanJob = z.output<typeof ScanJob>;

/** Ingest one version of one file of the flow's source. */
export const FileJob = z.object({
  kind: z.literal(FILE_JOB),
  ...Tenant,
  /** Relative to the base connection's root, e.g. `incoming/a.csv.gpg`. */
  path: z.string().min(1).max(1024),
  version: z.string().min(1).max(256),
  size: z.int().min(0),
  lastModified: z.number().min(0),
});
export type FileJob = z.output<typeof FileJob>;

export type SourceJob = ScanJob | FileJob;

/** The job a queue message carries, or `undefined` when it is none of ours (an Event Grid event, say). */
export function parseSourceJob(message: unknown): SourceJob | undefined {
  const parsed = z.discriminatedUnion('kind', [ScanJob, FileJob]).safeParse(message);
  return parsed.success ? parsed.data : undefined;
}

/** Puts a job on the ingestion queue. */
export type EnqueueJob = (job: SourceJob) => Promise<void>;
