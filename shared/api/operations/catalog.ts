/** Catalog (datasets and their batches) and Data Access (a batch's files, and each file's plaintext). */
import { z } from 'zod';
import type { AppServices } from '../../app/services.js';
import {
  getBatchFiles,
  getFile,
  listBatches,
  MAX_FILES_PER_BATCH,
  type Batch,
  type BatchFile,
} from '../../catalog/batches.js';
import { CATALOG_ID_PATTERN, CreateDatasetRequest, createDataset, getDataset } from '../../catalog/datasets.js';
import { HPKE_CHUNKED_MEDIA_TYPE } from '../../hpke/wire-format.js';
import { defineOperation } from '../../http/operation.js';
import * as R from '../openapi/response-schemas.js';

export const createDatasetOperation = defineOperation({
  operationId: 'datasets-create',
  method: 'POST',
  route: 'data/foundation/catalog/dataSets',
  summary: 'Create a dataset',
  tag: 'Catalog',
  auth: 'required',
  request: { name: 'CreateDatasetRequest', schema: CreateDatasetRequest },
  success: [{ status: 201, description: 'Created: `["@/dataSets/{id}"]`', schema: R.CatalogReferences }],
  hpke: true,
  handler: async ({ tenant, body }, services: AppServices) => {
    const dataset = await createDataset(services, tenant, body);
    return { status: 201, json: [`@/dataSets/${dataset.id}`] };
  },
});

export const getDatasetOperation = defineOperation({
  operationId: 'datasets-get',
  method: 'GET',
  route: 'data/foundation/catalog/dataSets/{id}',
  summary: 'Get a dataset',
  tag: 'Catalog',
  auth: 'required',
  success: [{ status: 200, description: '`{ "<id>": { ...dataset } }`', schema: R.CatalogObjectMap }],
  problems: ['NOT_FOUND'],
  hpke: true,
  handler: async ({ tenant, params }, services: AppServices) => {
    const { id, ...dataset } = await getDataset(services, tenant, params.id ?? '');
    return { json: { [id]: dataset } };
  },
});

const DATASET_MESSAGE = 'Must be exactly one dataset id (24 hex characters)';

/** The query of `GET /data/foundation/catalog/batches`: `dataSet={id}`, the only filter served. */
export const BatchListQuery = z.object({
  dataSet: z
    .string({ error: DATASET_MESSAGE })
    .regex(CATALOG_ID_PATTERN, DATASET_MESSAGE)
    .describe('The dataset id (24 hex characters)')
    .meta({ examples: ['5c8c3c555033b814b69f947f'] }),
});

export const listBatchesOperation = defineOperation({
  operationId: 'batches-list',
  method: 'GET',
  route: 'data/foundation/catalog/batches',
  summary: "List a dataset's batches",
  tag: 'Catalog',
  auth: 'required',
  query: BatchListQuery,
  queryInvalid: 'The batches query is invalid',
  success: [{ status: 200, description: '`{ "<batchId>": { ...batch } }`', schema: R.CatalogObjectMap }],
  hpke: true,
  handler: async ({ tenant, query }, services: AppServices) => {
    const batches = await listBatches(services, tenant, query.dataSet);
    return { json: Object.fromEntries(batches.map((b) => [b.id, catalogBatchView(b)])) };
  },
});

export const listBatchFilesOperation = defineOperation({
  operationId: 'batch-files-list',
  method: 'GET',
  route: 'data/foundation/export/batches/{batchId}/files',
  summary: "List a batch's files",
  tag: 'Data access',
  auth: 'required',
  success: [{ status: 200, description: 'The files with their `dataSetFileId`', schema: R.BatchFiles }],
  problems: ['NOT_FOUND'],
  hpke: true,
  handler: async ({ tenant, params }, services: AppServices) => {
    const files = await getBatchFiles(services, tenant, params.batchId ?? '');
    return { json: dataAccessFilesView(files, services.config.publicBaseUrl ?? '') };
  },
});

export const exportFileOperation = defineOperation({
  operationId: 'export-files-get',
  method: 'GET',
  route: 'data/foundation/export/files/{fileId}',
  summary: "Download a file's plaintext",
  description:
    'Streamed, decrypted from its at-rest envelope as it is sent. With `Accept: application/octet-stream+hpke-chunked` (and `x-hpke-format: 2`) sealed to your client key as a stream of HPKE chunks (README, "Streamed answers"); required when the org requires encryption (`HPKE_REQUIRED`). As one `application/octet-stream+hpke` message: `HPKE_NOT_ACCEPTABLE`.',
  tag: 'Data access',
  auth: 'required',
  success: [
    {
      status: 200,
      description: 'The file',
      mediaTypes: ['application/octet-stream', 'text/csv', 'application/json', HPKE_CHUNKED_MEDIA_TYPE],
    },
  ],
  problems: [
    'NOT_FOUND',
    'HPKE_NOT_ACCEPTABLE',
    'HPKE_REQUIRED',
    'HPKE_NO_CLIENT_KEY',
    'HPKE_FORMAT_UNSUPPORTED',
    'CMK_ACCESS_REVOKED',
    'KEY_VAULT_UNAVAILABLE',
  ],
  hpke: false,
  handler: async ({ tenant, params }, services: AppServices) => {
    const file = await getFile(services, tenant, params.fileId ?? '');
    const body = await services.objects.get(tenant, file.objectId);
    return {
      headers: {
        'content-type': file.contentType,
        'content-length': String(file.sizeBytes),
        'content-disposition': `attachment; filename="${file.name.replace(/["\\\r\n]/g, '_')}"`,
      },
      body,
    };
  },
});

/** A batch in Catalog's shape (the value under its id in `GET /catalog/batches`). */
function catalogBatchView(batch: Batch) {
  return {
    imsOrg: batch.orgId,
    sandboxName: batch.sandbox,
    status: batch.status,
    relatedObjects: [{ type: 'dataSet', id: batch.dataSetId }],
    created: batch.created,
    updated: batch.updated,
    started: batch.created,
    completed: batch.updated,
    metrics: {
      outputByteSize: batch.outputByteSize,
      outputFileCount: batch.fileIds.length,
      ...(batch.inputByteSize === undefined ? {} : { inputByteSize: batch.inputByteSize }),
      ...(batch.recordCount === undefined ? {} : { recordsWritten: batch.recordCount }),
    },
    tags: { flowId: [batch.flowId], flowRunId: [batch.runId] },
    version: '1.0.0',
  };
}

/**
 * A batch's files in the Data Access API's shape (`GET /export/batches/{id}/files`), each linking
 * to its download under `apiBaseUrl`: the configured `PUBLIC_BASE_URL`, never the request's own
 * origin (its Host header is the caller's to write), or `''` for links relative to the API.
 */
function dataAccessFilesView(files: readonly BatchFile[], apiBaseUrl: string) {
  return {
    data: files.map((f) => ({
      dataSetFileId: f.fileId,
      dataSetViewId: f.dataSetId,
      version: '1.0.0',
      created: String(f.created),
      updated: String(f.created),
      isValid: true,
      _links: { self: { href: `${apiBaseUrl}/data/foundation/export/files/${encodeURIComponent(f.fileId)}` } },
    })),
    _page: { limit: MAX_FILES_PER_BATCH, count: files.length },
  };
}
