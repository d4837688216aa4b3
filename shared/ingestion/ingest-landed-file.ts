import { pipeline } from 'node:stream';
import type { Duplex, Readable } from 'node:stream';
import type { BlobClient } from '@azure/storage-blob';
import { batchFileId, batchIdForRun, createBatch, getBatch } from '../catalog/batches.js';
import { isNotFound, isPreconditionFailed, isStorageOutage } from '../core/azure-errors.js';
import { AppError, NotFoundError } from '../errors.js';
import { findActiveFlowsForBlob, type ActiveFlow } from '../flows/find-active-flows.js';
import { randomUUID } from 'node:crypto';
import { completeRun, failRun, listRuns, recordRunRetry, renewRunClaim, startRun, type FlowRun, type RunClaim, type RunError, type StartRunInput, type StartRunResult } from '../flows/runs.js';
import { findLandingZoneOwner } from '../landing-zones/landing-zones.js';
import { compressionAllowance, MAX_COMPRESSION_RATIO, MAX_FILE_BYTES } from '../pgp/config.js';
import { decryptStream } from '../pgp/decrypt-stream.js';
import { PgpError } from '../pgp/errors.js';
import type { PrivateKeyPool } from '../pgp/private-key-pool.js';
import { loadVerificationKey } from '../pgp-keys/customer-keys.js';
import { loadDecryptionKey, type EncryptionKeyDeps } from '../pgp-keys/encryption-keys.js';
import type { EncryptedObjectStore } from '../storage/encrypted-object-store.js';
import type { TableFactory } from '../storage/tenant-table.js';
import { ByteCounter } from './byte-counter.js';
import { asDecompressionFailure, decompressor } from './decompress.js';
import { classifyFileName, type LandedFile } from './landed-file.js';
import { recordCounterFor } from './record-counters.js';
import { RunFailure, runErrorOf } from './run-failure.js';
import { systemClock, type Clock } from '../core/clock.js';

export interface IngestionDeps {
  readonly tables: TableFactory;
  readonly objects: EncryptedObjectStore;
  readonly keys: EncryptionKeyDeps;
  readonly clock?: Clock;
  /**
   * Plaintext (and landed file) size limit; default {@link MAX_FILE_BYTES} (1 GiB, Adobe's). The
   * functions pass the `MAX_FILE_BYTES` app setting (see `landingIngestionDeps`).
   */
  readonly maxFileBytes?: number;
  /**
   * Most decompressed bytes per compressed byte, at every inflate (a PGP Compressed Data packet, a
   * flow's `compressionType`) and for the whole file against the landed one; default
   * {@link MAX_COMPRESSION_RATIO}. The functions pass the `MAX_COMPRESSION_RATIO` app setting.
   */
  readonly maxCompressionRatio?: number;
  /** Session key packets tried per message at most (`MAX_PKESK_PER_MESSAGE`, default 16). */
  readonly maxSessionKeyPackets?: number;
  /** Where session keys are decrypted; default the process's private-key pool with default settings. */
  readonly privateKeys?: Pick<PrivateKeyPool, 'recoverSessionKeys'>;
  /** Structured log of outcomes; never given file contents or keys. */
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
  /**
   * Records a blob that must wait: for its org's customer key (`cmk-access-revoked`; the CMK
   * reconciler ingests it again once access returns) or for Key Vault to answer again
   * (`key-vault-unavailable`; the ingestion retry timer tries it again with backoff). Absent: the
   * error is thrown like any other transient one.
   */
  readonly wait?: (file: WaitingBlob, reason: WaitReason) => Promise<void>;
  /**
   * Failed attempts at one run (transient faults other than the waits above) after which the run
   * fails for good with RETRIES_EXHAUSTED instead of throwing; default {@link MAX_INGEST_ATTEMPTS}.
   */
  readonly maxAttempts?: number;
}

/**
 * The host's queue `maxDequeueCount` (host.json): the run fails (and says why) on the attempt
 * the host would otherwise have sent to the poison queue, where no customer would see it.
 */
export const MAX_INGEST_ATTEMPTS = 5;

/** A landed blob, by where it is (`container` is its landing zone's). */
export interface WaitingBlob {
  readonly orgId: string;
  readonly container: string;
  readonly blobName: string;
  /** The version that waits. */
  readonly etag: string;
}

/** Why a landed blob waits instead of being retried at once. */
export type WaitReason = 'cmk-access-revoked' | 'key-vault-unavailable';

/** What happened to one landed blob, per matching flow. */
export type IngestOutcome =
  | { readonly kind: 'ignored'; readonly reason: IgnoredReason }
  | { readonly kind: 'done'; readonly runs: readonly RunOutcome[] }
  | { readonly kind: 'waiting'; readonly reason: WaitReason | 'source-unavailable' };

/** Why a landed blob gave no run: not in a landing zone, no flow selects it, or that version is gone. */
export type IgnoredReason = 'not-a-landing-zone' | 'no-matching-flow' | 'superseded' | 'gone';

/** Which version of a landed blob to ingest: the one an event or a waiting record names. */
export interface LandedBlobVersion {
  readonly blob: BlobClient;
  /** The ETag the BlobCreated event (or the record of a waiting file) carries; absent: the current version. */
  readonly etag?: string;
}

/**
 * Ingests one blob from a landing zone into the dataset of every active flow whose source
 * path matches it: decrypts it as a stream with the flow's key, verifies the signature when the
 * flow names a verification key, stores the plaintext under the key hierarchy, and commits a
 * Catalog batch only after the integrity check and the signature have passed.
 *
 * The blob's org and sandbox are those of the zone whose container holds it (a stored mapping),
 * never anything its name says. Idempotent per blob version (ETag): a redelivered event finds its
 * finished run and does nothing. The landing blob is never modified or deleted, whatever happens.
 * A version that is gone when it is read ends its unfinished runs (a waiting file the TTL deleted:
 * FILE_EXPIRED; one replaced by a newer upload: FILE_REPLACED) rather than leave them in progress.
 *
 * A revoked customer key or an unavailable Key Vault parks the blob through `deps.wait` (the run
 * stays in progress; the file is tried again when the key or the vault is back, however long that
 * takes). A final failure (the file or a key is at fault) is recorded on the run and does not
 * throw; so is a transient one on the run's `maxAttempts`-th failed attempt (RETRIES_EXHAUSTED).
 * A failed run's staged plaintext is deleted (best effort) unless its batch was committed.
 *
 * @throws other transient failures (KEK_*, storage errors) before that: the run stays in progress
 *   and the trigger retries.
 */
export async function ingestLandedBlob(deps: IngestionDeps, version: LandedBlobVersion): Promise<IngestOutcome> {
  const { blob } = version;
  const zone = await findLandingZoneOwner(deps.tables, blob.containerName);
  if (zone === undefined) return ignored(deps, blob, 'not-a-landing-zone');
  const file: LandedFile = { orgId: zone.orgId, sandbox: zone.sandbox, relativePath: blob.name };
  const flows = await findActiveFlowsForBlob(deps, file);
  if (flows.length === 0) return ignored(deps, blob, 'no-matching-flow');

  let properties;
  try {
    properties = await blob.getProperties();
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await endVanishedRuns(deps, file, flows, undefined, FILE_GONE);
    return ignored(deps, blob, 'gone');
  }
  const etag = properties.etag ?? '';
  if (version.etag !== undefined && unquote(version.etag) !== unquote(etag)) {
    // A newer upload replaced this version; the newer one has an event of its own.
    await endVanishedRuns(deps, file, flows, etag, FILE_REPLACED);
    return ignored(deps, blob, 'superseded');
  }
  const size = properties.contentLength ?? 0;
  const runs: RunOutcome[] = [];
  // Exactly this version of the blob: if it is replaced meanwhile, the new version gets its own run.
  const open = async (): Promise<Readable> => {
    const download = await blob.download(0, undefined, { conditions: { ifMatch: etag }, maxRetryRequests: 5 });
    const body = download.readableStreamBody as Readable | undefined;
    if (body === undefined) throw new Error('The landing blob download has no body stream');
    return body;
  };
  try {
    for (const flow of flows) runs.push(await ingestVersion(deps, file, flow, { etag, size, open }, deps.wait !== undefined));
  } catch (err) {
    // The org revoked its customer key, or Key Vault does not answer: not a failure of the file,
    // and retrying within the trigger's five attempts would only poison it when the outage
    // outlasts them. The blob stays in its landing zone, the run stays in progress, and the
    // file is ingested again once the key or the vault is back.
    const reason = waitReasonOf(err);
    if (reason === undefined || reason === 'source-unavailable' || deps.wait === undefined) throw err;
    await deps.wait({ orgId: file.orgId, container: blob.containerName, blobName: blob.name, etag }, reason);
    deps.log?.('ingestion-waiting', { blob: blob.name, orgId: file.orgId, reason });
    return { kind: 'waiting', reason };
  }
  return { kind: 'done', runs };
}

/** One version of a file, from wherever it is read: the landing zone, or a customer's storage. */
export interface FileVersion {
  /** The version's ETag (or a source's version string): with the flow and path, the run's identity. */
  readonly etag: string;
  readonly size: number;
  /** Opens exactly this version; a newer one must fail (412, or SOURCE_FILE_CHANGED), never be read instead. */
  open(): Promise<Readable>;
}

/** What became of one flow's run over one file version. */
export interface RunOutcome {
  readonly flowId: string;
  readonly runId: string;
  readonly status: string;
  /** The run had already finished (a redelivery): nothing was done. */
  readonly skipped: boolean;
}

/**
 * Runs one flow over one file version, once: starts (or resumes) its run, holding the run's
 * claim while it works so a duplicate delivery waits instead of racing, and records how it ended.
 * A final failure is recorded on the run (not thrown).
 *
 * @param waits the caller handles wait errors (a revoked customer key, an unavailable vault or
 *   source: `waitReasonOf`): they are thrown without counting as a failed attempt.
 * @throws transient failures (the run stays in progress; the caller retries) and wait errors.
 */
export async function ingestVersion(deps: IngestionDeps, file: LandedFile, flow: ActiveFlow, version: FileVersion, waits: boolean): Promise<RunOutcome> {
  const claim: RunClaim = { id: randomUUID(), ttlMs: RUN_CLAIM_MS };
  const { run, outcome } = await startOrAwait(deps, file, { flowId: flow.flowId, fileName: file.relativePath, blobETag: version.etag, inputBytes: version.size }, claim);
  if (outcome === 'finished') return { flowId: flow.flowId, runId: run.id, status: run.status, skipped: true };
  // Renewed while this attempt works, so a duplicate delivery waits instead of racing it.
  const renew = setInterval(() => void renewRunClaim(deps, file, run.id, claim).catch(() => undefined), RUN_CLAIM_MS / 3);
  try {
    const finished = await runFlow(deps, file, flow, run, version, waits);
    return { flowId: flow.flowId, runId: run.id, status: finished.status, skipped: false };
  } catch (err) {
    // Not finished (a retry or a wait follows): the next attempt may take the run at once.
    await renewRunClaim(deps, file, run.id, { id: claim.id, ttlMs: 0 }).catch(() => undefined);
    throw err;
  } finally {
    clearInterval(renew);
  }
}

/** How long an attempt's claim on a run lasts unless renewed (a third of it apart). */
const RUN_CLAIM_MS = 30_000;
/** How long a duplicate delivery waits for the attempt that holds the run before it gives up (and is retried). */
const MAX_CLAIM_WAIT_MS = 15 * 60_000;

/**
 * Starts (or resumes) the run, or, while another attempt holds it (a duplicate delivery of the same
 * event, on this instance or another), waits until that attempt finishes the run or stops renewing
 * its claim (it crashed), then takes over. Waiting rather than returning keeps the duplicate's
 * message: had the holder crashed, that message is what brings the file back.
 */
async function startOrAwait(deps: IngestionDeps, file: LandedFile, input: StartRunInput, claim: RunClaim): Promise<StartRunResult> {
  const deadline = Date.now() + MAX_CLAIM_WAIT_MS;
  for (let waited = false; ; waited = true) {
    const started = await startRun(deps, file, input, claim);
    if (started.outcome !== 'busy') return started;
    if (Date.now() > deadline) throw new Error('Another attempt held the run for too long');
    if (!waited) deps.log?.('ingestion-run-busy', { runId: started.run.id, flowId: input.flowId });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

async function runFlow(
  deps: IngestionDeps,
  file: LandedFile,
  flow: ActiveFlow,
  run: FlowRun,
  landed: FileVersion,
  waits: boolean,
): Promise<FlowRun> {
  const maxBytes = deps.maxFileBytes ?? MAX_FILE_BYTES;
  const maxRatio = deps.maxCompressionRatio ?? MAX_COMPRESSION_RATIO;
  const started = Date.now();
  // The plaintext goes to an object no batch names yet (the staging step); the batch that makes
  // it visible is committed only once decryption has authenticated the whole file.
  const batchId = batchIdForRun(run.id);
  const fileId = batchFileId(batchId, 0);
  const objectId = `batch-file.${fileId}`;
  try {
    const type = classifyFileName(file.relativePath);
    if (type === undefined) {
      throw new RunFailure('UNSUPPORTED_FILE_TYPE', 'Accepted files: .csv .tsv .json .parquet, each optionally with .gpg or .pgp, and bare .gpg/.pgp.');
    }
    // The limit is on the decrypted file; the landed one may be larger by the OpenPGP framing and,
    // when ASCII-armored, by Base64's 4/3. Anything beyond that cannot decrypt to within the limit.
    if (landed.size > maxLandedBytes(maxBytes)) {
      throw new RunFailure('FILE_TOO_LARGE', `The file is larger than the limit of ${maxBytes} bytes.`);
    }
    const key = await loadKey(deps, file, flow.encryption.publicKeyId);
    if (key.expiresAt.getTime() <= (deps.clock ?? systemClock).now()) {
      throw new RunFailure('ENCRYPTION_KEY_EXPIRED', `The dataflow's encryption key ${flow.encryption.publicKeyId} has expired.`);
    }
    const verificationKeys = flow.encryption.signVerificationKeyId === undefined
      ? undefined
      : [await loadSigner(deps, file, flow.encryption.signVerificationKeyId)];

    const body = await landed.open();
    const { plaintext, result } = await decryptStream(body, {
      privateKeyArmored: key.privateKeyArmored,
      passphrase: key.passphrase,
      ...(verificationKeys === undefined ? {} : { verificationKeys }),
      maxBytes,
      maxCompressionRatio: maxRatio,
      ...(deps.maxSessionKeyPackets === undefined ? {} : { maxSessionKeyPackets: deps.maxSessionKeyPackets }),
      ...(deps.privateKeys === undefined ? {} : { privateKeys: deps.privateKeys }),
    });
    const recordCounter = type.format === 'parquet' ? undefined : recordCounterFor(flow.source.format);
    // The ratio also holds for the whole file: each inflate is checked on its own, and a bomb
    // nested in a PGP compressed packet may inflate at both without passing either's limit.
    const ratioCap = compressionAllowance(maxRatio, landed.size);
    const counter = new ByteCounter(
      Math.min(maxBytes, ratioCap),
      () => ratioCap < maxBytes ? new PgpError('COMPRESSION_RATIO_EXCEEDED', { maxCompressionRatio: maxRatio }) : new PgpError('FILE_TOO_LARGE', { maxBytes }),
      recordCounter,
    );
    // The limits apply to what comes out of the decompressor; the decompressor also stops a
    // bomb itself, before it has produced much more than a limit.
    const stages: Duplex[] = flow.source.compressionType === undefined ? [] : [decompressor(flow.source.compressionType, maxBytes, maxRatio)];
    const staged = pipeline([plaintext, ...stages, counter], () => undefined) as unknown as Readable;

    const [stored, decrypted] = await Promise.allSettled([deps.objects.put(file, objectId, staged), result]);
    if (decrypted.status === 'rejected') throw asDecompressionFailure(decrypted.reason);
    if (stored.status === 'rejected') throw asDecompressionFailure(stored.reason);

    const records = recordCounter?.records;
    await createBatch(deps, file, {
      batchId,
      dataSetId: flow.dataSetId,
      runId: run.id,
      flowId: flow.flowId,
      inputBytes: landed.size,
      files: [{
        fileId,
        name: type.plainName,
        sizeBytes: counter.bytes,
        objectId,
        ...(records === undefined ? {} : { records }),
        contentType: contentTypeOf(flow.source.format),
      }],
    });
    const done = await completeRun(deps, file, run.id, {
      status: 'success',
      batchId,
      metrics: { inputBytes: landed.size, outputBytes: counter.bytes, ...(records === undefined ? {} : { recordCount: records }), durationMs: Date.now() - started },
    });
    deps.log?.('ingestion-succeeded', { runId: run.id, flowId: flow.flowId, batchId, outputBytes: counter.bytes, signedBy: decrypted.value.signedBy });
    return done;
  } catch (err) {
    // 412: the blob was replaced after it landed; its new version has a run of its own.
    const runError = isPreconditionFailed(err) ? FILE_REPLACED : runErrorOf(err);
    const metrics = { inputBytes: landed.size, durationMs: Date.now() - started };
    if (runError !== undefined) {
      await discardStaged(deps, file, run.id, { batchId, objectId });
      deps.log?.('ingestion-failed', { runId: run.id, flowId: flow.flowId, code: runError.code });
      return failRun(deps, file, run.id, { errors: [runError], metrics });
    }
    // Transient. A wait (revoked customer key, vault outage) does not count as an attempt.
    if (waitReasonOf(err) !== undefined && waits) throw err;
    const cause = transientCauseOf(err);
    const maxAttempts = deps.maxAttempts ?? MAX_INGEST_ATTEMPTS;
    const failed = await recordRunRetry(deps, file, run.id);
    deps.log?.('ingestion-attempt-failed', { runId: run.id, flowId: flow.flowId, code: cause.code, attempt: failed, maxAttempts });
    if (failed < maxAttempts) throw err;
    await discardStaged(deps, file, run.id, { batchId, objectId });
    deps.log?.('ingestion-failed', { runId: run.id, flowId: flow.flowId, code: 'RETRIES_EXHAUSTED', cause: cause.code });
    const exhausted: RunError = {
      code: 'RETRIES_EXHAUSTED',
      message: `The file could not be processed in ${failed} attempts because of a fault on our side (${cause.code}); land it again to retry.`,
    };
    return failRun(deps, file, run.id, { errors: [exhausted, cause], metrics });
  }
}

async function loadKey(deps: IngestionDeps, scope: LandedFile, publicKeyId: string) {
  try {
    return await loadDecryptionKey(deps.keys, scope, publicKeyId);
  } catch (err) {
    if (err instanceof NotFoundError) throw new RunFailure('ENCRYPTION_KEY_NOT_FOUND', `The dataflow's encryption key ${publicKeyId} does not exist.`, { cause: err });
    throw err;
  }
}

async function loadSigner(deps: IngestionDeps, scope: LandedFile, publicKeyId: string) {
  try {
    return await loadVerificationKey(deps.keys, scope, publicKeyId);
  } catch (err) {
    if (err instanceof NotFoundError) throw new RunFailure('SIGNATURE_KEY_NOT_FOUND', `The sign verification key ${publicKeyId} does not exist.`, { cause: err });
    throw err;
  }
}

/**
 * Deletes the plaintext a failing run staged, in this attempt or an earlier one (a put that
 * succeeded before a transient fault), unless the run's batch was committed and serves it. A
 * missing object is fine. Best effort: a leftover is encrypted at rest and named by no batch, so
 * it is never visible; a storage fault here is logged and the run still records why it failed.
 */
async function discardStaged(deps: IngestionDeps, file: LandedFile, runId: string, staged: { batchId: string; objectId: string }): Promise<void> {
  try {
    if (await isCommitted(deps, file, staged.batchId)) return;
    await deps.objects.delete(file, staged.objectId);
  } catch (err) {
    deps.log?.('ingestion-staged-object-kept', { runId, code: transientCauseOf(err).code });
  }
}

async function isCommitted(deps: IngestionDeps, file: LandedFile, batchId: string): Promise<boolean> {
  try {
    await getBatch(deps, file, batchId);
    return true;
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
}

function maxLandedBytes(maxPlaintextBytes: number): number {
  return Math.ceil((maxPlaintextBytes * 4) / 3) + 1024 * 1024;
}

function contentTypeOf(format: ActiveFlow['source']['format']): string {
  switch (format) {
    case 'delimited':
      return 'text/csv';
    case 'json':
      return 'application/json';
    case 'parquet':
      return 'application/vnd.apache.parquet';
  }
}

const FILE_REPLACED: RunError = { code: 'FILE_REPLACED', message: 'The file was replaced before it was read; the new version is processed separately.' };
const FILE_GONE: RunError = {
  code: 'FILE_EXPIRED',
  message: 'The file left the landing zone (files are deleted a fixed number of days after upload, or it was deleted) before it could be processed; upload it again.',
};

/**
 * Fails the unfinished runs of a landed file's versions other than `keptEtag` (all of them when it
 * is gone): a file that waited for the vault or the customer's key and whose blob has since been
 * replaced or deleted would otherwise stay in progress for ever.
 */
async function endVanishedRuns(deps: IngestionDeps, file: LandedFile, flows: readonly ActiveFlow[], keptEtag: string | undefined, error: RunError): Promise<void> {
  for (const flow of flows) {
    for (const run of await listRuns(deps, file, flow.flowId)) {
      if (run.status !== 'inProgress' || run.fileName !== file.relativePath) continue;
      if (keptEtag !== undefined && unquote(run.blobETag) === unquote(keptEtag)) continue;
      await failRun(deps, file, run.id, { errors: [error], metrics: {} });
      deps.log?.('ingestion-failed', { runId: run.id, flowId: flow.flowId, code: error.code });
    }
  }
}

function unquote(etag: string): string {
  return etag.replace(/^"(.*)"$/, '$1');
}

function ignored(deps: IngestionDeps, blob: BlobClient, reason: IgnoredReason): IngestOutcome {
  deps.log?.('ingestion-ignored', { blob: blob.name, reason });
  return { kind: 'ignored', reason };
}

/** Why a file must wait rather than be retried at once or failed: its org's key, Key Vault, or its source. */
export function waitReasonOf(err: unknown): WaitReason | 'source-unavailable' | undefined {
  if (!(err instanceof AppError)) return undefined;
  switch (err.code) {
    case 'CMK_ACCESS_REVOKED':
      return 'cmk-access-revoked';
    case 'KEY_VAULT_UNAVAILABLE':
      return 'key-vault-unavailable';
    // Only reading a customer's storage fails so; the next scheduled run takes the file again.
    case 'SOURCE_UNREACHABLE':
    case 'SOURCE_AUTH_FAILED':
    case 'SOURCE_HOST_KEY_MISMATCH':
    case 'ADDRESS_NOT_ALLOWED':
      return 'source-unavailable';
    default:
      return undefined;
  }
}

/** A transient fault as a run error: our stable code and public message, never internal detail. */
function transientCauseOf(err: unknown): RunError {
  if (err instanceof AppError) return { code: err.code, message: err.message };
  if (isStorageOutage(err)) return { code: 'STORAGE_UNAVAILABLE', message: 'Storage did not answer.' };
  return { code: 'INTERNAL_ERROR', message: 'An unexpected error occurred.' };
}
