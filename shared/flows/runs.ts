import { z } from 'zod';
import type { SandboxScope } from '../core/scope.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { tenantTable, where, type TableCodec } from '../storage/tenant-table.js';
import { isFlowServiceId } from './flow-service-id.js';
import { nowMs, type FlowServiceDeps } from './flow-service-deps.js';
import { readJsonColumn } from './lib/stored-json.js';
import { runIdFor } from './run-id.js';

export const FLOW_RUNS_TABLE = 'flowruns';
/** Most runs one listing returns (the newest). */
export const MAX_RUNS_LISTED = 1000;
/** Bounds of a failed run's errors, which are shown to the customer as given. */
export const MAX_RUN_ERRORS = 10;
export const MAX_RUN_ERROR_MESSAGE = 1024;
/** Blob names are at most 1024 characters; ETags are short. */
const MAX_FILE_NAME = 1024;
const MAX_ETAG = 256;

export type RunStatus = 'inProgress' | 'success' | 'failed';

/** One error of a failed run: a stable code and a message for the customer (no secrets, no data). */
export interface RunError {
  readonly code: string;
  readonly message: string;
}

export interface RunMetrics {
  readonly inputBytes: number;
  readonly outputBytes: number;
  readonly recordCount?: number;
  readonly durationMs: number;
}

/** One run of a flow over one landed file, as `GET .../runs` shows it. */
export interface FlowRun {
  readonly id: string;
  readonly flowId: string;
  readonly fileName: string;
  readonly blobETag: string;
  readonly status: RunStatus;
  readonly errors: readonly RunError[];
  readonly metrics: RunMetrics;
  /** The Catalog batch the run committed (success only). */
  readonly batchId?: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly imsOrgId: string;
  readonly sandboxName: string;
  readonly etag: string;
}

/** What a trigger knows when a file lands. */
export interface StartRunInput {
  readonly flowId: string;
  /** The blob's name in its landing zone's container (e.g. `incoming/a.csv.gpg`). */
  readonly fileName: string;
  readonly blobETag: string;
  readonly inputBytes: number;
}

/**
 * `started`: a new run, go ahead. `inProgress`: this blob version's run exists and did not finish
 * (a redelivery after a crash or a retryable failure): resume it, reusing its id and batch id.
 * `finished`: it succeeded or failed for good: skip the file. `busy`: another attempt holds the
 * run's claim right now (a duplicate delivery racing the first): leave it to that attempt.
 */
export type StartRunOutcome = 'started' | 'inProgress' | 'finished' | 'busy';

/**
 * An attempt's claim on a run: while it holds it (renewing it before `ttlMs` lapses), other
 * attempts at the same run get `busy`; a claim its holder stopped renewing (a crash) lapses.
 */
export interface RunClaim {
  /** Unique per attempt. */
  readonly id: string;
  readonly ttlMs: number;
}

export interface StartRunResult {
  readonly run: FlowRun;
  readonly outcome: StartRunOutcome;
}

/** Metrics a caller reports when a run ends; those not given keep their stored values. */
export interface RunMetricsUpdate {
  readonly inputBytes?: number;
  readonly outputBytes?: number;
  readonly recordCount?: number;
  /** Default: the time since the run started, by the deps' clock. */
  readonly durationMs?: number;
}

interface RunEntity {
  rowKey: string;
  flowId: string;
  fileName: string;
  blobETag: string;
  status: RunStatus;
  errors: string;
  inputBytes: number;
  outputBytes: number;
  recordCount?: number;
  durationMs: number;
  batchId?: string;
  /** Attempts that failed transiently so far (absent: none). */
  failedAttempts?: number;
  /** The attempt working on the run now, and until when (epoch ms) its claim holds. */
  claimId?: string;
  claimedUntil?: number;
  createdAt: number;
  updatedAt: number;
}

const Count = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const StartRunSchema = z.object({
  flowId: z.string().refine(isFlowServiceId, 'Must be a flow id'),
  fileName: z.string().min(1).max(MAX_FILE_NAME),
  blobETag: z.string().min(1).max(MAX_ETAG),
  inputBytes: Count,
});
const MetricsSchema = z.object({
  inputBytes: Count.optional(),
  outputBytes: Count.optional(),
  recordCount: Count.optional(),
  durationMs: Count.optional(),
});
const RunErrors = z
  .array(
    z.object({ code: z.string().regex(/^[A-Z0-9_]{1,64}$/), message: z.string().min(1).max(MAX_RUN_ERROR_MESSAGE) }),
  )
  .min(1)
  .max(MAX_RUN_ERRORS);
const StoredRunErrors = z.array(z.object({ code: z.string(), message: z.string() }));

/** A run as stored: the run as shown, and the bookkeeping of the attempts at it, never shown. */
interface RunRecord {
  readonly run: FlowRun;
  /** Attempts that failed transiently so far (absent: none). */
  readonly failedAttempts?: number;
  /** The attempt working on the run now, and until when (epoch ms) its claim holds. */
  readonly claim?: { readonly id: string; readonly until: number };
}

/** A run as written: the scope gives its org and sandbox, the table its ETag. */
interface NewRunRecord {
  readonly run: Omit<FlowRun, 'imsOrgId' | 'sandboxName' | 'etag'>;
  readonly failedAttempts?: number;
  readonly claim?: { readonly id: string; readonly until: number };
}

const codec: TableCodec<RunRecord, SandboxScope, RunEntity, NewRunRecord> = {
  toEntity: ({ run, failedAttempts, claim }) => ({
    rowKey: run.id,
    flowId: run.flowId,
    fileName: run.fileName,
    blobETag: run.blobETag,
    status: run.status,
    errors: JSON.stringify(run.errors),
    inputBytes: run.metrics.inputBytes,
    outputBytes: run.metrics.outputBytes,
    ...(run.metrics.recordCount === undefined ? {} : { recordCount: run.metrics.recordCount }),
    durationMs: run.metrics.durationMs,
    ...(run.batchId === undefined ? {} : { batchId: run.batchId }),
    ...(failedAttempts === undefined ? {} : { failedAttempts }),
    ...(claim === undefined ? {} : { claimId: claim.id, claimedUntil: claim.until }),
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
  }),
  fromEntity: (e, scope) => ({
    run: {
      id: e.rowKey,
      flowId: e.flowId,
      fileName: e.fileName,
      blobETag: e.blobETag,
      status: e.status,
      errors: readJsonColumn(StoredRunErrors, e.errors),
      metrics: {
        inputBytes: e.inputBytes,
        outputBytes: e.outputBytes,
        ...(e.recordCount === undefined ? {} : { recordCount: e.recordCount }),
        durationMs: e.durationMs,
      },
      ...(e.batchId === undefined ? {} : { batchId: e.batchId }),
      createdAt: e.createdAt,
      updatedAt: e.updatedAt,
      imsOrgId: scope.orgId,
      sandboxName: scope.sandbox,
      etag: e.etag,
    },
    ...(e.failedAttempts === undefined ? {} : { failedAttempts: e.failedAttempts }),
    ...(e.claimId === undefined ? {} : { claim: { id: e.claimId, until: e.claimedUntil ?? 0 } }),
  }),
};

/** The sandbox's runs: PartitionKey `{org}|{sandbox}`, RowKey the run id. */
const runsOf = (deps: FlowServiceDeps, scope: SandboxScope) => tenantTable(deps.tables, FLOW_RUNS_TABLE, codec).in(scope);

/**
 * Starts the run of a flow over one blob version, once: the row key is {@link runIdFor} of
 * (flow, blob name, ETag) and the row is inserted only if absent, so a redelivered trigger (or two
 * racing ones) gets the existing run back instead of creating a second run and a second batch.
 *
 * @throws INVALID_REQUEST for a malformed tenant, flow id, file name, ETag or byte count.
 */
export async function startRun(
  deps: FlowServiceDeps,
  scope: SandboxScope,
  input: StartRunInput,
  claim?: RunClaim,
): Promise<StartRunResult> {
  const checked = StartRunSchema.safeParse(input);
  if (!checked.success) throw new ValidationError('The run input is invalid');
  const now = nowMs(deps);
  const runId = runIdFor(input);
  const started = await runsOf(deps, scope).insertIfAbsent({
    run: {
      id: runId,
      flowId: input.flowId,
      fileName: input.fileName,
      blobETag: input.blobETag,
      status: 'inProgress',
      errors: [],
      metrics: { inputBytes: input.inputBytes, outputBytes: 0, durationMs: 0 },
      createdAt: now,
      updatedAt: now,
    },
    ...(claim === undefined ? {} : { claim: { id: claim.id, until: now + claim.ttlMs } }),
  });
  if (started !== undefined) return { run: started.run, outcome: 'started' };
  if (claim === undefined) {
    const { run } = await readRun(deps, scope, runId);
    return { run, outcome: run.status === 'inProgress' ? 'inProgress' : 'finished' };
  }
  let outcome: StartRunOutcome = 'inProgress';
  const run = await updateRun(deps, scope, runId, (r) => {
    if (r.run.status !== 'inProgress') {
      outcome = 'finished';
      return undefined;
    }
    if (r.claim !== undefined && r.claim.id !== claim.id && r.claim.until > nowMs(deps)) {
      outcome = 'busy';
      return undefined;
    }
    outcome = 'inProgress';
    return { ...r, claim: { id: claim.id, until: nowMs(deps) + claim.ttlMs } };
  });
  return { run, outcome };
}

/**
 * Extends an attempt's claim on its run (another `ttlMs` from now), or ends it (`ttlMs` 0) when the
 * attempt stops without finishing the run (a retryable failure, a wait). Does nothing once another
 * attempt holds the run or it has finished.
 */
export async function renewRunClaim(deps: FlowServiceDeps, scope: SandboxScope, runId: string, claim: RunClaim): Promise<void> {
  await updateRun(deps, scope, runId, (r) => {
    if (r.run.status !== 'inProgress' || r.claim?.id !== claim.id) return undefined;
    return { ...r, claim: { id: claim.id, until: nowMs(deps) + claim.ttlMs } };
  });
}

/**
 * Marks a run successful with the batch it committed. Idempotent: completing a run that already
 * succeeded with the same batch returns it unchanged.
 * @throws NOT_FOUND when the run does not exist in the tenant.
 * @throws CONFLICT when the run already failed, or succeeded with another batch.
 */
export async function completeRun(
  deps: FlowServiceDeps,
  scope: SandboxScope,
  runId: string,
  result: { readonly status: 'success'; readonly metrics: RunMetricsUpdate; readonly batchId: string },
): Promise<FlowRun> {
  return updateRun(deps, scope, runId, (r) => {
    if (r.run.status === 'success' && r.run.batchId === result.batchId) return undefined;
    if (r.run.status !== 'inProgress')
      throw new ConflictError(`The run has already ${r.run.status === 'success' ? 'succeeded' : 'failed'}`);
    return { ...r, run: { ...r.run, status: 'success', batchId: result.batchId, metrics: metricsAfter(deps, r.run, result.metrics) } };
  });
}

/**
 * Marks a run failed for good (a caller's fault such as a file that does not decrypt). A retryable
 * failure should not end the run: leave it `inProgress` and let the trigger retry. Idempotent on a
 * failed run.
 * @throws NOT_FOUND when the run does not exist in the tenant.
 * @throws CONFLICT when the run already succeeded.
 * @throws INVALID_REQUEST when errors are missing, too many or malformed.
 */
export async function failRun(
  deps: FlowServiceDeps,
  scope: SandboxScope,
  runId: string,
  result: { readonly errors: readonly RunError[]; readonly metrics: RunMetricsUpdate },
): Promise<FlowRun> {
  const errors = RunErrors.safeParse(result.errors);
  if (!errors.success) throw new ValidationError('The run errors are invalid');
  return updateRun(deps, scope, runId, (r) => {
    if (r.run.status === 'failed') return undefined;
    if (r.run.status === 'success') throw new ConflictError('The run has already succeeded');
    return { ...r, run: { ...r.run, status: 'failed', errors: errors.data, metrics: metricsAfter(deps, r.run, result.metrics) } };
  });
}

/**
 * Counts one more transiently failed attempt at an unfinished run (the trigger will retry it).
 * @returns how many attempts have failed so far, this one included; on a finished run, 0.
 * @throws NOT_FOUND when the run does not exist in the tenant.
 */
export async function recordRunRetry(deps: FlowServiceDeps, scope: SandboxScope, runId: string): Promise<number> {
  let failed = 0;
  await updateRun(deps, scope, runId, (r) => {
    if (r.run.status !== 'inProgress') return undefined;
    failed = (r.failedAttempts ?? 0) + 1;
    return { ...r, failedAttempts: failed };
  });
  return failed;
}

/** The tenant's runs of one flow, newest first, at most {@link MAX_RUNS_LISTED}. */
export async function listRuns(deps: FlowServiceDeps, scope: SandboxScope, flowId: string): Promise<FlowRun[]> {
  if (!isFlowServiceId(flowId)) return [];
  const runs: FlowRun[] = [];
  for await (const { run } of runsOf(deps, scope).list(where`flowId eq ${flowId}`)) runs.push(run);
  return runs.sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id)).slice(0, MAX_RUNS_LISTED);
}

/**
 * Reads one run.
 * @throws NOT_FOUND when it does not exist in the tenant.
 */
export async function getRun(deps: FlowServiceDeps, scope: SandboxScope, runId: string): Promise<FlowRun> {
  return (await readRun(deps, scope, runId)).run;
}

/** Applies `change` to the run's current version (re-reading on a racing write); `undefined`: no change. */
async function updateRun(
  deps: FlowServiceDeps,
  scope: SandboxScope,
  runId: string,
  change: (r: RunRecord) => NewRunRecord | undefined,
): Promise<FlowRun> {
  // Optimistic concurrency: the update applies only to the version read; a racing writer makes us re-read.
  for (let attempt = 0; ; attempt++) {
    const current = await readRun(deps, scope, runId);
    const next = change(current);
    if (next === undefined) return current.run;
    const written = await runsOf(deps, scope).replace({ ...next, run: { ...next.run, updatedAt: nowMs(deps) } }, current.run.etag);
    if (written !== undefined) return written.run;
    if (attempt >= 2) throw new Error('The run kept changing while it was being updated');
  }
}

/** The metrics a run ends with: those reported, else those stored (the duration: since it started). */
function metricsAfter(deps: FlowServiceDeps, run: FlowRun, update: RunMetricsUpdate): RunMetrics {
  const m = MetricsSchema.safeParse(update);
  if (!m.success) throw new ValidationError('The run metrics are invalid');
  const recordCount = m.data.recordCount ?? run.metrics.recordCount;
  return {
    inputBytes: m.data.inputBytes ?? run.metrics.inputBytes,
    outputBytes: m.data.outputBytes ?? run.metrics.outputBytes,
    ...(recordCount === undefined ? {} : { recordCount }),
    durationMs: m.data.durationMs ?? Math.max(0, nowMs(deps) - run.createdAt),
  };
}

async function readRun(deps: FlowServiceDeps, scope: SandboxScope, runId: string): Promise<RunRecord> {
  const notFound = () => new NotFoundError('The run was not found');
  if (!isFlowServiceId(runId)) throw notFound();
  const record = await runsOf(deps, scope).find(runId);
  if (record === undefined) throw notFound();
  return record;
}
