import { createHash } from 'node:crypto';
import { odata } from '@azure/data-tables';
import { z } from 'zod';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { isConflict, isNotFound, tenantPartitionKey, type TableFactory } from '../storage/tenant-table.js';
import type { SandboxScope } from '../vault/sandbox-scope.js';
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
  partitionKey: string;
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
  partitionKey: string;
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
  const pk = tenantPartitionKey(scope);
  const existing = await readBatch(deps, pk, input.batchId);
  if (existing !== undefined) return toBatch(scope, existing);

  const now = (deps.clock ?? systemClock).now();
  const files = await deps.tables(BATCH_FILES_TABLE);
  for (const f of checked.data.files) {
    const entity: FileEntity = {
      partitionKey: pk,
      rowKey: f.fileId,
      batchId: input.batchId,
      dataSetId: input.dataSetId,
      objectId: f.objectId,
      name: f.name,
      sizeBytes: f.sizeBytes,
      contentType: f.contentType ?? DEFAULT_FILE_CONTENT_TYPE,
      ...(f.records === undefined ? {} : { records: f.records }),
      created: now,
    };
    // Upsert: a retry after a crash between two writes may hold new object ids for the same files.
    const current = await readFile(deps, pk, f.fileId);
    if (current !== undefined && current.batchId !== input.batchId)
      throw new ConflictError('A file id is already used by another batch');
    await files.upsertEntity(entity, 'Replace');
  }

  const sizes = checked.data.files.map((f) => f.sizeBytes);
  const records = checked.data.files.flatMap((f) => (f.records === undefined ? [] : [f.records]));
  const batch: BatchEntity = {
    partitionKey: pk,
    rowKey: input.batchId,
    dataSetId: input.dataSetId,
    runId: input.runId,
    flowId: input.flowId,
    fileIds: JSON.stringify(checked.data.files.map((f) => f.fileId)),
    outputByteSize: sizes.reduce((a, b) => a + b, 0),
    ...(input.inputBytes === undefined ? {} : { inputByteSize: input.inputBytes }),
    ...(records.length === sizes.length ? { recordCount: records.reduce((a, b) => a + b, 0) } : {}),
    created: now,
    updated: now,
  };
  const batches = await deps.tables(BATCHES_TABLE);
  try {
    await batches.createEntity(batch);
    return toBatch(scope, batch);
  } catch (err) {
    if (!isConflict(err)) throw err;
    // A racing attempt committed first: its batch is the batch.
    const winner = await readBatch(deps, pk, input.batchId);
    if (winner === undefined) throw err;
    return toBatch(scope, winner);
  }
}

/**
 * Reads one committed batch.
 * @throws NOT_FOUND when it does not exist in the tenant.
 */
export async function getBatch(deps: BatchStoreDeps, scope: SandboxScope, batchId: string): Promise<Batch> {
  const entity = CATALOG_ID_PATTERN.test(batchId)
    ? await readBatch(deps, tenantPartitionKey(scope), batchId)
    : undefined;
  if (entity === undefined) throw new NotFoundError('The batch was not found');
  return toBatch(scope, entity);
}

/** The tenant's committed batches of one dataset, newest first, at most {@link MAX_BATCHES_LISTED}. */
export async function listBatches(deps: BatchStoreDeps, scope: SandboxScope, dataSetId: string): Promise<Batch[]> {
  if (!CATALOG_ID_PATTERN.test(dataSetId)) return [];
  const table = await deps.tables(BATCHES_TABLE);
  const filter = odata`PartitionKey eq ${tenantPartitionKey(scope)} and dataSetId eq ${dataSetId}`;
  const batches: Batch[] = [];
  for await (const e of table.listEntities<BatchEntity>({ queryOptions: { filter } })) batches.push(toBatch(scope, e));
  return batches.sort((a, b) => b.created - a.created || a.id.localeCompare(b.id)).slice(0, MAX_BATCHES_LISTED);
}

/**
 * The files of a committed batch, in the order they were committed.
 * @throws NOT_FOUND when the batch does not exist in the tenant.
 */
export async function getBatchFiles(deps: BatchStoreDeps, scope: SandboxScope, batchId: string): Promise<BatchFile[]> {
  const batch = await getBatch(deps, scope, batchId);
  const pk = tenantPartitionKey(scope);
  const files = await Promise.all(batch.fileIds.map((id) => readFile(deps, pk, id)));
  return files.flatMap((f) => (f === undefined || f.batchId !== batchId ? [] : [toFile(f)]));
}

/**
 * Reads one file of a committed batch (a file whose batch never committed does not exist).
 * @throws NOT_FOUND when it does not exist in the tenant.
 */
export async function getFile(deps: BatchStoreDeps, scope: SandboxScope, fileId: string): Promise<BatchFile> {
  const notFound = () => new NotFoundError('The file was not found');
  if (!FILE_ID_PATTERN.test(fileId)) throw notFound();
  const pk = tenantPartitionKey(scope);
  const file = await readFile(deps, pk, fileId);
  if (file === undefined) throw notFound();
  const batch = await readBatch(deps, pk, file.batchId);
  if (batch === undefined || !readFileIds(batch).includes(fileId)) throw notFound();
  return toFile(file);
}

async function readBatch(deps: BatchStoreDeps, pk: string, batchId: string) {
  const table = await deps.tables(BATCHES_TABLE);
  try {
    return await table.getEntity<BatchEntity>(pk, batchId);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function readFile(deps: BatchStoreDeps, pk: string, fileId: string) {
  const table = await deps.tables(BATCH_FILES_TABLE);
  try {
    return await table.getEntity<FileEntity>(pk, fileId);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function readFileIds(e: BatchEntity): string[] {
  return FileIds.parse(JSON.parse(e.fileIds));
}

function toBatch(scope: SandboxScope, e: BatchEntity): Batch {
  return {
    id: e.rowKey,
    status: 'success',
    dataSetId: e.dataSetId,
    runId: e.runId,
    flowId: e.flowId,
    fileIds: readFileIds(e),
    outputByteSize: e.outputByteSize,
    ...(e.inputByteSize === undefined ? {} : { inputByteSize: e.inputByteSize }),
    ...(e.recordCount === undefined ? {} : { recordCount: e.recordCount }),
    created: e.created,
    updated: e.updated,
    orgId: scope.orgId,
    sandbox: scope.sandbox,
  };
}

function toFile(e: FileEntity): BatchFile {
  return {
    fileId: e.rowKey,
    batchId: e.batchId,
    dataSetId: e.dataSetId,
    objectId: e.objectId,
    name: e.name,
    sizeBytes: e.sizeBytes,
    contentType: e.contentType,
    ...(e.records === undefined ? {} : { records: e.records }),
    created: e.created,
  };
}
