import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { SandboxScope } from '../core/scope.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { tenantTable, where, type TableCodec, type TableFactory } from '../storage/tenant-table.js';
import { CATALOG_ID_PATTERN } from './datasets.js';
import { systemClock, type Clock } from '../core/clock.js';

export const BATCHES_TABLE = 'batches';
export const BATCH_FILES_TABLE = 'batchfiles';
/** A run ingests one landed file; a batch may hold a few output files, never more than this. */
export const MAX_FILES_PER_BATCH = 100;
/** Most batches one listing returns (the newest). */
export const MAX_BATCHES_LISTED = 1000;
export const DEFAULT_FILE_CONTENT_TYPE = 'application/octet-stream';

/** File ids: `{batchId}-{n}` from {@link batchFileId}, or any id of this Table-key-safe charset. */
export const FILE_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export interface BatchStoreDeps {
  readonly tables: TableFactory;
  readonly clock?: Clock;
}

/** One file of a batch as the ingestion records it: the at-rest object holding its (encrypted) bytes. */
export interface BatchFileInput {
  readonly fileId: string;
  /** The file's name as shown to the customer (e.g. the landed file name without `.gpg`). */
  readonly name: string;
  readonly sizeBytes: number;
  /** Id of the object in the at-rest envelope store. */
  readonly objectId: string;
  readonly records?: number;
  readonly contentType?: string;
}

export interface CreateBatchInput {
  /** From {@link batchIdForRun}, so a retried run reuses its batch. */
  readonly batchId: string;
  readonly dataSetId: string;
  readonly runId: string;
  readonly flowId: string;
  readonly files: readonly BatchFileInput[];
  /** Bytes the run read (the encrypted landed file), for Catalog's `inputByteSize`. */
  readonly inputBytes?: number;
}

/** A committed batch. */
export interface Batch {
  readonly id: string;
  readonly status: 'success';
  readonly dataSetId: string;
  readonly runId: string;
  readonly flowId: string;
  readonly fileIds: readonly string[];
  readonly outputByteSize: number;
  readonly inputByteSize?: number;
  readonly recordCount?: number;
  readonly created: number;
  readonly updated: number;
  readonly orgId: string;
  readonly sandbox: string;
}

/** One committed file, with what a download needs. */
export interface BatchFile {
  readonly fileId: string;
  readonly batchId: string;
  readonly dataSetId: string;
  readonly objectId: string;
  readonly name: string;
  readonly sizeBytes: number;
  readonly contentType: string;
  readonly records?: number;
  readonly created: number;
}

interface BatchEntity {
  rowKey: string;
  dataSetId: string;
  runId: string;
  flowId: string;
  fileIds: string;
  outputByteSize: number;
  inputByteSize?: number;
  recordCount?: number;
  created: number;
  updated: number;
}

interface FileEntity {
  rowKey: string;
  batchId: string;
  dataSetId: string;
  objectId: string;
  name: string;
  sizeBytes: number;
  contentType: string;
  records?: number;
  created: number;
}

const Count = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const CreateBatchSchema = z.object({
  batchId: z.string().regex(CATALOG_ID_PATTERN),
  dataSetId: z.string().regex(CATALOG_ID_PATTERN),
  runId: z.string().regex(/^[0-9a-f-]{36}$/),
  flowId: z.string().regex(/^[0-9a-f-]{36}$/),
  inputBytes: Count.optional(),
  files: z
    .array(
      z.object({
        fileId: z.string().regex(FILE_ID_PATTERN),
        name: z.string().min(1).max(1024),
        sizeBytes: Count,
        objectId: z.string().min(1).max(1024),
        records: Count.optional(),
        contentType: z
          .string()
          .regex(/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i)
          .max(128)
          .optional(),
      }),
    )
    .min(1)
    .max(MAX_FILES_PER_BATCH)
    .refine((files) => new Set(files.map((f) => f.fileId)).size === files.length, 'File ids must be distinct'),
});
const FileIds = z.array(z.string());

/** A batch as written: the scope gives its org and sandbox; only committed batches are stored. */
type NewBatch = Omit<Batch, 'orgId' | 'sandbox' | 'status'>;

const batchCodec: TableCodec<Batch, SandboxScope, BatchEntity, NewBatch> = {
  toEntity: (b) => ({
    rowKey: b.id,
    dataSetId: b.dataSetId,
    runId: b.runId,
    flowId: b.flowId,
    fileIds: JSON.stringify(b.fileIds),
    outputByteSize: b.outputByteSize,
    ...(b.inputByteSize === undefined ? {} : { inputByteSize: b.inputByteSize }),
    ...(b.recordCount === undefined ? {} : { recordCount: b.recordCount }),
    created: b.created,
    updated: b.updated,
  }),
  fromEntity: (e, scope) => ({
    id: e.rowKey,
    status: 'success',
    dataSetId: e.dataSetId,
    runId: e.runId,
    flowId: e.flowId,
    fileIds: FileIds.parse(JSON.parse(e.fileIds)),
    outputByteSize: e.outputByteSize,
    ...(e.inputByteSize === undefined ? {} : { inputByteSize: e.inputByteSize }),
    ...(e.recordCount === undefined ? {} : { recordCount: e.recordCount }),
    created: e.created,
    updated: e.updated,
    orgId: scope.orgId,
    sandbox: scope.sandbox,
  }),
};

const fileCodec: TableCodec<BatchFile, SandboxScope, FileEntity> = {
  toEntity: ({ fileId, ...columns }) => ({ rowKey: fileId, ...columns }),
  fromEntity: (e) => ({
    fileId: e.rowKey,
    batchId: e.batchId,
    dataSetId: e.dataSetId,
    objectId: e.objectId,
    name: e.name,
    sizeBytes: e.sizeBytes,
    contentType: e.contentType,
    ...(e.records === undefined ? {} : { records: e.records }),
    created: e.created,
  }),
};

/** The sandbox's committed batches: PartitionKey `{org}|{sandbox}`, RowKey the batch id. */
const batchesOf = (deps: BatchStoreDeps, scope: SandboxScope) => tenantTable(deps.tables, BATCHES_TABLE, batchCodec).in(scope);
/** The sandbox's batch files (of committed batches, or staged by one that has not committed yet). */
const filesOf = (deps: BatchStoreDeps, scope: SandboxScope) => tenantTable(deps.tables, BATCH_FILES_TABLE, fileCodec).in(scope);

/**
 * The Catalog batch id of a run: 24 hex characters (Catalog's id shape) from SHA-256 of the run
 * id, so a retried run commits to the same batch and never makes a second one.
 */
export function batchIdForRun(runId: string): string {
  return createHash('sha256').update(`cipherflow.catalog.batch.v1\0${runId}`, 'utf8').digest('hex').slice(0, 24);
}

/** The id of the `index`-th (0-based) file of a batch: `{batchId}-{index + 1}`, stable across retries. */
export function batchFileId(batchId: string, index: number): string {
  return `${batchId}-${index + 1}`;
}

/**
 * Commits a batch of files to a dataset, once. The file rows are written first and the batch row
 * last: the batch row is the commit point, and only files it lists are ever shown or served. A
 * retry with the same batch id returns the batch already committed and writes nothing.
 *
 * @throws INVALID_REQUEST for malformed ids, sizes, or no / too many / duplicate files.
 * @throws CONFLICT when a file id is already taken by another batch.
 */
export async function createBatch(deps: BatchStoreDeps, scope: SandboxScope, input: CreateBatchInput): Promise<Batch> {
  const checked = CreateBatchSchema.safeParse(input);
  if (!checked.success) throw new ValidationError('The batch input is invalid');
  const batches = batchesOf(deps, scope);
  const existing = await batches.find(input.batchId);
  if (existing !== undefined) return existing;

  const now = (deps.clock ?? systemClock).now();
  const files = filesOf(deps, scope);
  for (const f of checked.data.files) {
    // Upsert: a retry after a crash between two writes may hold new object ids for the same files.
    const current = await files.find(f.fileId);
    if (current !== undefined && current.batchId !== input.batchId)
      throw new ConflictError('A file id is already used by another batch');
    await files.upsert({
      fileId: f.fileId,
      batchId: input.batchId,
      dataSetId: input.dataSetId,
      objectId: f.objectId,
      name: f.name,
      sizeBytes: f.sizeBytes,
      contentType: f.contentType ?? DEFAULT_FILE_CONTENT_TYPE,
      ...(f.records === undefined ? {} : { records: f.records }),
      created: now,
    });
  }

  const sizes = checked.data.files.map((f) => f.sizeBytes);
  const records = checked.data.files.flatMap((f) => (f.records === undefined ? [] : [f.records]));
  const committed = await batches.insertIfAbsent({
    id: input.batchId,
    dataSetId: input.dataSetId,
    runId: input.runId,
    flowId: input.flowId,
    fileIds: checked.data.files.map((f) => f.fileId),
    outputByteSize: sizes.reduce((a, b) => a + b, 0),
    ...(input.inputBytes === undefined ? {} : { inputByteSize: input.inputBytes }),
    ...(records.length === sizes.length ? { recordCount: records.reduce((a, b) => a + b, 0) } : {}),
    created: now,
    updated: now,
  });
  if (committed !== undefined) return committed;
  // A racing attempt committed first: its batch is the batch.
  const winner = await batches.find(input.batchId);
  if (winner === undefined) throw new Error('The batch vanished while it was being committed');
  return winner;
}

/**
 * Reads one committed batch.
 * @throws NOT_FOUND when it does not exist in the tenant.
 */
export async function getBatch(deps: BatchStoreDeps, scope: SandboxScope, batchId: string): Promise<Batch> {
  const batch = CATALOG_ID_PATTERN.test(batchId) ? await batchesOf(deps, scope).find(batchId) : undefined;
  if (batch === undefined) throw new NotFoundError('The batch was not found');
  return batch;
}

/** The tenant's committed batches of one dataset, newest first, at most {@link MAX_BATCHES_LISTED}. */
export async function listBatches(deps: BatchStoreDeps, scope: SandboxScope, dataSetId: string): Promise<Batch[]> {
  if (!CATALOG_ID_PATTERN.test(dataSetId)) return [];
  const batches: Batch[] = [];
  for await (const batch of batchesOf(deps, scope).list(where`dataSetId eq ${dataSetId}`)) batches.push(batch);
  return batches.sort((a, b) => b.created - a.created || a.id.localeCompare(b.id)).slice(0, MAX_BATCHES_LISTED);
}

/**
 * The files of a committed batch, in the order they were committed.
 * @throws NOT_FOUND when the batch does not exist in the tenant.
 */
export async function getBatchFiles(deps: BatchStoreDeps, scope: SandboxScope, batchId: string): Promise<BatchFile[]> {
  const batch = await getBatch(deps, scope, batchId);
  const files = filesOf(deps, scope);
  const found = await Promise.all(batch.fileIds.map((id) => files.find(id)));
  return found.flatMap((f) => (f === undefined || f.batchId !== batchId ? [] : [f]));
}

/**
 * Reads one file of a committed batch (a file whose batch never committed does not exist).
 * @throws NOT_FOUND when it does not exist in the tenant.
 */
export async function getFile(deps: BatchStoreDeps, scope: SandboxScope, fileId: string): Promise<BatchFile> {
  const notFound = () => new NotFoundError('The file was not found');
  if (!FILE_ID_PATTERN.test(fileId)) throw notFound();
  const file = await filesOf(deps, scope).find(fileId);
  if (file === undefined) throw notFound();
  const batch = await batchesOf(deps, scope).find(file.batchId);
  if (batch === undefined || !batch.fileIds.includes(fileId)) throw notFound();
  return file;
}
