import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type AzuriteInstance } from '../../local/azurite.js';
import type { Tenant } from '../../shared/auth/tenant.js';
import {
  batchFileId,
  batchIdForRun,
  createBatch,
  getBatchFiles,
  getFile,
  listBatches,
  BATCH_FILES_TABLE,
} from '../../shared/catalog/batches.js';
import { createDataset } from '../../shared/catalog/datasets.js';
import { AppError } from '../../shared/errors.js';
import {
  completeRun,
  createFlow,
  createSourceConnection,
  createTargetConnection,
  deleteFlow,
  failRun,
  findActiveFlowsForBlob,
  recordRunRetry,
  listRuns,
  startRun,
  type KeyCheck,
} from '../../shared/flows/index.js';
import { flowKeyCheck } from '../../shared/app/pgp-key-deps.js';
import { createTableFactory, tenantPartitionKey, type TableFactory } from '../../shared/storage/tenant-table.js';

const ORG = 'CF0301AAAA@AdobeOrg';
const tenant = (sandbox: string): Tenant => ({ orgId: ORG, sandbox, clientId: 'test-client', subject: 'test-user' });
const PROD = tenant('prod');
const allKeys: KeyCheck = {
  encryptionKeyExists: () => Promise.resolve(true),
  customerKeyExists: () => Promise.resolve(true),
};

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('flow service stores against Azurite', () => {
  let azurite: AzuriteInstance;
  let tables: TableFactory;
  let deps: { tables: TableFactory };

  beforeAll(async () => {
    azurite = await startAzurite();
    tables = createTableFactory((name) =>
      TableClient.fromConnectionString(azurite.connectionString, name, { allowInsecureConnection: true }),
    );
    deps = { tables };
  });
  afterAll(async () => {
    await azurite.stop();
  });

  async function newFlow(t: Tenant, path: string, keys: KeyCheck = allKeys) {
    const dataset = await createDataset(deps, t, { name: 'customers' });
    const source = await createSourceConnection(deps, t, {
      name: 's',
      data: { format: 'delimited', properties: { compressionType: 'gzip' } },
      params: { path },
    });
    const target = await createTargetConnection(deps, t, { name: 't', params: { dataSetId: dataset.id } });
    const flow = await createFlow(
      deps,
      t,
      {
        name: 'f',
        sourceConnectionIds: [source.id],
        targetConnectionIds: [target.id],
        transformations: [{ name: 'Encryption', params: { publicKeyId: 'key-1', signVerificationKeyId: 'cust-1' } }],
      },
      keys,
    );
    return { dataset, source, target, flow };
  }

  it('finds the enabled flows whose source path selects a blob, with what ingestion needs', async () => {
    const { flow, dataset, source, target } = await newFlow(tenant('find'), '/incoming/*.csv.gpg');
    const other = await newFlow(tenant('find'), '/other/*.json.gpg');
    const found = await findActiveFlowsForBlob(deps, {
      orgId: ORG,
      sandbox: 'find',
      relativePath: 'incoming/customers.csv.gpg',
    });
    expect(found).toEqual([
      {
        flowId: flow.id,
        flowName: 'f',
        sourceConnectionId: source.id,
        source: { path: '/incoming/*.csv.gpg', format: 'delimited', compressionType: 'gzip' },
        targetConnectionId: target.id,
        dataSetId: dataset.id,
        encryption: { publicKeyId: 'key-1', signVerificationKeyId: 'cust-1' },
      },
    ]);
    expect(
      (await findActiveFlowsForBlob(deps, { orgId: ORG, sandbox: 'find', relativePath: 'other/x.json.gpg' })).map(
        (f) => f.flowId,
      ),
    ).toEqual([other.flow.id]);
    expect(
      await findActiveFlowsForBlob(deps, {
        orgId: ORG,
        sandbox: 'find',
        relativePath: 'incoming/sub/customers.csv.gpg',
      }),
    ).toEqual([]);
  });

  it('does not match flows of another sandbox, nor deleted flows', async () => {
    const { flow } = await newFlow(tenant('gone'), '/drop/*');
    expect(await findActiveFlowsForBlob(deps, { orgId: ORG, sandbox: 'elsewhere', relativePath: 'drop/a' })).toEqual(
      [],
    );
    expect(await findActiveFlowsForBlob(deps, { orgId: ORG, sandbox: 'gone', relativePath: 'drop/a' })).toHaveLength(1);
    await deleteFlow(deps, tenant('gone'), flow.id);
    expect(await findActiveFlowsForBlob(deps, { orgId: ORG, sandbox: 'gone', relativePath: 'drop/a' })).toEqual([]);
  });

  it('refuses a malformed tenant with INVALID_REQUEST', async () => {
    expect(
      (await refusal(findActiveFlowsForBlob(deps, { orgId: 'x|y', sandbox: 'prod', relativePath: 'a' }))).code,
    ).toBe('INVALID_REQUEST');
  });

  it("checks key references through the key stores' lookups, ignoring deleted keys and other tenants", async () => {
    const keys = flowKeyCheck({ tables });
    const live = '6f1c2a9e-5b7d-4c1e-9a2b-6d8e0f1a2b3c';
    const dead = '7f1c2a9e-5b7d-4c1e-9a2b-6d8e0f1a2b3c';
    const encryption = await tables('encryptionkeys');
    await encryption.createEntity({ partitionKey: tenantPartitionKey(PROD), rowKey: live, status: 'active' });
    await encryption.createEntity({ partitionKey: tenantPartitionKey(PROD), rowKey: dead, status: 'deleted' });
    expect(await keys.encryptionKeyExists(PROD, live)).toBe(true);
    expect(await keys.encryptionKeyExists(PROD, dead)).toBe(false);
    expect(await keys.encryptionKeyExists(tenant('dev'), live)).toBe(false);
    expect(await keys.customerKeyExists(PROD, live)).toBe(false);
    expect(await keys.encryptionKeyExists(PROD, `../${live}`)).toBe(false);
  });

  it('starts one run per blob version, however often the trigger fires', async () => {
    const { flow } = await newFlow(PROD, '/runs/*');
    const input = { flowId: flow.id, fileName: 'runs/a.csv.gpg', blobETag: '"0x1"', inputBytes: 10 };
    const results = await Promise.all(Array.from({ length: 5 }, () => startRun(deps, PROD, input)));
    expect(results.filter((r) => r.outcome === 'started')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'inProgress')).toHaveLength(4);
    expect(new Set(results.map((r) => r.run.id)).size).toBe(1);
    const runId = results[0]?.run.id ?? '';

    const batchId = batchIdForRun(runId);
    const done = await completeRun(deps, PROD, runId, {
      status: 'success',
      metrics: { outputBytes: 7, recordCount: 3, durationMs: 12 },
      batchId,
    });
    expect(done).toMatchObject({
      status: 'success',
      batchId,
      metrics: { inputBytes: 10, outputBytes: 7, recordCount: 3, durationMs: 12 },
    });
    expect((await completeRun(deps, PROD, runId, { status: 'success', metrics: {}, batchId })).etag).toBe(done.etag);

    const again = await startRun(deps, PROD, input);
    expect(again).toMatchObject({ outcome: 'finished', run: { id: runId, status: 'success' } });
    const rewritten = await startRun(deps, PROD, { ...input, blobETag: '"0x2"' });
    expect(rewritten.outcome).toBe('started');
    expect(rewritten.run.id).not.toBe(runId);
    expect(
      (await refusal(failRun(deps, PROD, runId, { errors: [{ code: 'X', message: 'x' }], metrics: {} }))).code,
    ).toBe('CONFLICT');
  });

  it('counts failed attempts of an unfinished run, concurrently too, and none once it finished', async () => {
    const { flow } = await newFlow(PROD, '/retry/*');
    const { run } = await startRun(deps, PROD, { flowId: flow.id, fileName: 'retry/a', blobETag: 'e', inputBytes: 5 });
    expect(await recordRunRetry(deps, PROD, run.id)).toBe(1);
    const counts = await Promise.all([recordRunRetry(deps, PROD, run.id), recordRunRetry(deps, PROD, run.id)]);
    expect(counts.sort()).toEqual([2, 3]);
    await failRun(deps, PROD, run.id, { errors: [{ code: 'RETRIES_EXHAUSTED', message: 'gave up' }], metrics: {} });
    expect(await recordRunRetry(deps, PROD, run.id)).toBe(0);
    expect((await refusal(recordRunRetry(deps, tenant('dev'), run.id))).code).toBe('NOT_FOUND');
  });

  it('records a failed run with its errors and refuses to complete it afterwards with CONFLICT', async () => {
    const { flow } = await newFlow(PROD, '/fail/*');
    const { run } = await startRun(deps, PROD, { flowId: flow.id, fileName: 'fail/a', blobETag: 'e', inputBytes: 5 });
    const failed = await failRun(deps, PROD, run.id, {
      errors: [{ code: 'DECRYPTION_FAILED', message: 'The data could not be decrypted' }],
      metrics: {},
    });
    expect(failed).toMatchObject({
      status: 'failed',
      errors: [{ code: 'DECRYPTION_FAILED' }],
      metrics: { inputBytes: 5, outputBytes: 0 },
    });
    expect(
      (await startRun(deps, PROD, { flowId: flow.id, fileName: 'fail/a', blobETag: 'e', inputBytes: 5 })).outcome,
    ).toBe('finished');
    const refused = await refusal(
      completeRun(deps, PROD, run.id, { status: 'success', metrics: {}, batchId: batchIdForRun(run.id) }),
    );
    expect(refused.code).toBe('CONFLICT');
    expect((await refusal(failRun(deps, PROD, run.id, { errors: [], metrics: {} }))).code).toBe('INVALID_REQUEST');
    expect(
      (await refusal(completeRun(deps, tenant('dev'), run.id, { status: 'success', metrics: {}, batchId: 'x' }))).code,
    ).toBe('NOT_FOUND');
    expect((await listRuns(deps, PROD, flow.id)).map((r) => r.id)).toEqual([run.id]);
  });

  it('commits a batch once, and serves only files a committed batch lists', async () => {
    const { flow, dataset } = await newFlow(PROD, '/batch/*');
    const { run } = await startRun(deps, PROD, { flowId: flow.id, fileName: 'batch/a', blobETag: 'e', inputBytes: 50 });
    const batchId = batchIdForRun(run.id);
    const fileId = batchFileId(batchId, 0);
    const file = { fileId, name: 'a.csv', sizeBytes: 40, objectId: 'obj-1', records: 2, contentType: 'text/csv' };
    const input = { batchId, dataSetId: dataset.id, runId: run.id, flowId: flow.id, inputBytes: 50, files: [file] };

    expect((await refusal(getFile(deps, PROD, fileId))).code).toBe('NOT_FOUND');
    const batch = await createBatch(deps, PROD, input);
    expect(batch).toMatchObject({
      id: batchId,
      status: 'success',
      fileIds: [fileId],
      outputByteSize: 40,
      recordCount: 2,
      inputByteSize: 50,
    });
    const retried = await createBatch(deps, PROD, { ...input, files: [{ ...file, objectId: 'obj-2' }] });
    expect(retried).toEqual(batch);
    expect(await getFile(deps, PROD, fileId)).toMatchObject({
      fileId,
      batchId,
      objectId: 'obj-1',
      name: 'a.csv',
      sizeBytes: 40,
      contentType: 'text/csv',
    });
    expect((await getBatchFiles(deps, PROD, batchId)).map((f) => f.fileId)).toEqual([fileId]);
    expect((await listBatches(deps, PROD, dataset.id)).map((b) => b.id)).toEqual([batchId]);
    expect(await listBatches(deps, tenant('dev'), dataset.id)).toEqual([]);
    expect((await refusal(getFile(deps, tenant('dev'), fileId))).code).toBe('NOT_FOUND');

    // A file row left by a crashed attempt, with no committed batch, is not served.
    const orphanBatch = batchIdForRun('00000000-0000-8000-8000-000000000000');
    await (
      await tables(BATCH_FILES_TABLE)
    ).createEntity({ partitionKey: tenantPartitionKey(PROD), rowKey: `${orphanBatch}-1`, batchId: orphanBatch });
    expect((await refusal(getFile(deps, PROD, `${orphanBatch}-1`))).code).toBe('NOT_FOUND');
    const stolen = await refusal(
      createBatch(deps, PROD, {
        ...input,
        batchId: orphanBatch,
        files: [{ fileId, name: 'x', sizeBytes: 1, objectId: 'o' }],
      }),
    );
    expect(stolen.code).toBe('CONFLICT');
  });
});
