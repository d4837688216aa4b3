import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxScope } from '../../shared/core/scope.js';
import { batchFileId, batchIdForRun, createBatch } from '../../shared/catalog/batches.js';
import { completeRun, failRun, startRun } from '../../shared/flows/index.js';
import { createTableFactory, tenantPartitionKey, type TableFactory } from '../../shared/storage/tenant-table.js';
import { ensureSandbox } from '../support/api-client.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { apiHeaders } from '../support/tokens.js';

const ORG = 'CF0401AAAA@AdobeOrg';
const FLOWSERVICE = '/data/foundation/flowservice';
const DATASETS = '/data/foundation/catalog/dataSets';
const ENCRYPTION_KEY = 'a1b2c3d4-0000-4000-8000-000000000001';
const CUSTOMER_KEY = 'c1b2c3d4-0000-4000-8000-000000000002';

interface Problem {
  status: number;
  code: string;
  errors?: { field: string; message: string }[];
}
interface Created {
  id: string;
  etag: string;
}

describe('flow service, runs and batches through the local runtime', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let tables: TableFactory;

  beforeAll(async () => {
    stack = await startLocalStack();
    runtime = await startRuntime(stack.env);
    await ensureSandbox(runtime.url, ORG, 'dev');
    tables = createTableFactory((name) =>
      TableClient.fromConnectionString(stack.azurite.connectionString, name, { allowInsecureConnection: true }),
    );
    // The keys API is not there yet: key rows as its store will write them.
    for (const sandbox of ['prod', 'dev']) {
      const partitionKey = tenantPartitionKey({ orgId: ORG, sandbox });
      await (await tables('encryptionkeys')).createEntity({ partitionKey, rowKey: ENCRYPTION_KEY, status: 'active' });
      await (await tables('customerkeys')).createEntity({ partitionKey, rowKey: CUSTOMER_KEY, status: 'active' });
    }
    await (
      await tables('encryptionkeys')
    ).createEntity({
      partitionKey: tenantPartitionKey({ orgId: ORG, sandbox: 'prod' }),
      rowKey: 'deleted-key',
      status: 'deleted',
    });
  });
  afterAll(async () => {
    await runtime.stop();
    await stack.stop();
  });

  async function call(method: string, path: string, sandbox = 'prod', body?: unknown) {
    const headers = await apiHeaders(ORG, sandbox);
    return fetch(`${runtime.url}${path}`, {
      method,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  async function created(res: Response): Promise<Created> {
    const text = await res.text();
    expect(res.status, text).toBe(201);
    const body = JSON.parse(text) as Created;
    expect(Object.keys(body).sort()).toEqual(['etag', 'id']);
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    return body;
  }

  async function problem(res: Response, status: number, code: string): Promise<Problem> {
    const body = (await res.json()) as Problem;
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(body).toMatchObject({ status, code });
    return body;
  }

  async function newDataset(sandbox = 'prod'): Promise<string> {
    const res = await call('POST', DATASETS, sandbox, { name: 'customers' });
    const [ref] = (await res.json()) as string[];
    return ref?.split('/')[2] ?? '';
  }

  function sourceBody(path = '/incoming/*.csv.gpg') {
    return {
      name: 'landing zone',
      connectionSpec: { id: 'ecadc60c-7455-4d87-84dc-2a0e293d997b', version: '1.0' },
      data: { format: 'delimited', properties: { compressionType: 'gzip' } },
      params: { path },
    };
  }

  function flowBody(
    sourceId: string,
    targetId: string,
    encryption: Record<string, string> = { publicKeyId: ENCRYPTION_KEY, signVerificationKeyId: CUSTOMER_KEY },
  ) {
    return {
      name: 'encrypted customers',
      flowSpec: { id: '9753525b-82c7-4dce-8a9b-5ccfce2b9876', version: '1.0' },
      sourceConnectionIds: [sourceId],
      targetConnectionIds: [targetId],
      transformations: [
        { name: 'Mapping', params: { mappingId: 'm-1', mappingVersion: 0 } },
        { name: 'Encryption', params: encryption },
      ],
      scheduleParams: { startTime: '1700000000', frequency: 'once' },
    };
  }

  async function newFlow(sandbox = 'prod', path?: string) {
    const dataSetId = await newDataset(sandbox);
    const source = await created(await call('POST', `${FLOWSERVICE}/sourceConnections`, sandbox, sourceBody(path)));
    const target = await created(
      await call('POST', `${FLOWSERVICE}/targetConnections`, sandbox, { name: 'lake', params: { dataSetId } }),
    );
    const flow = await created(await call('POST', `${FLOWSERVICE}/flows`, sandbox, flowBody(source.id, target.id)));
    return { dataSetId, source, target, flow };
  }

  it('creates a source connection, a target connection and a flow, and reads each back in list wrappers', async () => {
    const { dataSetId, source, target, flow } = await newFlow();

    const s = await call('GET', `${FLOWSERVICE}/sourceConnections/${source.id}`);
    expect(s.status).toBe(200);
    expect(await s.json()).toEqual({
      items: [
        expect.objectContaining({
          id: source.id,
          etag: source.etag,
          name: 'landing zone',
          connectionSpec: { id: 'ecadc60c-7455-4d87-84dc-2a0e293d997b', version: '1.0' },
          data: { format: 'delimited', properties: { compressionType: 'gzip' } },
          params: { path: '/incoming/*.csv.gpg' },
          imsOrgId: ORG,
          sandboxName: 'prod',
        }),
      ],
    });
    const t = await call('GET', `${FLOWSERVICE}/targetConnections/${target.id}`);
    expect(await t.json()).toEqual({ items: [expect.objectContaining({ id: target.id, params: { dataSetId } })] });

    const f = await call('GET', `${FLOWSERVICE}/flows/${flow.id}`);
    expect(f.status).toBe(200);
    const { items } = (await f.json()) as { items: Record<string, unknown>[] };
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      id: flow.id,
      etag: flow.etag,
      name: 'encrypted customers',
      state: 'enabled',
      sourceConnectionIds: [source.id],
      targetConnectionIds: [target.id],
      transformations: flowBody(source.id, target.id).transformations,
      scheduleParams: { startTime: '1700000000', frequency: 'once' },
      flowSpec: { id: '9753525b-82c7-4dce-8a9b-5ccfce2b9876', version: '1.0' },
    });
    expect(typeof items[0]?.createdAt).toBe('number');
    expect(typeof items[0]?.updatedAt).toBe('number');

    const list = (await (await call('GET', `${FLOWSERVICE}/flows`)).json()) as { items: { id: string }[] };
    expect(list.items.map((i) => i.id)).toContain(flow.id);
  });

  it('refuses a source connection whose baseConnectionId names no connection of the tenant with 400 naming it', async () => {
    const res = await call('POST', `${FLOWSERVICE}/sourceConnections`, 'prod', { ...sourceBody(), baseConnectionId: '7c2c0d2e-8d4b-4e3f-9a40-1d2c3b4a5f60' });
    const body = await problem(res, 400, 'INVALID_REQUEST');
    expect(body).toMatchObject({ errors: [expect.objectContaining({ field: 'body.baseConnectionId' })] });
  });

  it('refuses a target connection to a dataset the tenant does not have with 400 INVALID_REQUEST naming params.dataSetId', async () => {
    const otherSandboxDataset = await newDataset('dev');
    for (const dataSetId of ['0123456789abcdef01234567', otherSandboxDataset]) {
      const body = await problem(
        await call('POST', `${FLOWSERVICE}/targetConnections`, 'prod', { name: 'x', params: { dataSetId } }),
        400,
        'INVALID_REQUEST',
      );
      expect(body.errors?.map((e) => e.field)).toEqual(['body.params.dataSetId']);
    }
  });

  it('refuses source paths that escape or are malformed with 400 INVALID_REQUEST naming params.path', async () => {
    for (const path of ['/incoming/../secrets/*', 'incoming/*.csv', '/in\\coming/*.csv', '/incoming/']) {
      const body = await problem(
        await call('POST', `${FLOWSERVICE}/sourceConnections`, 'prod', sourceBody(path)),
        400,
        'INVALID_REQUEST',
      );
      expect(body.errors?.map((e) => e.field)).toEqual(['body.params.path']);
    }
    const unknown = await problem(
      await call('POST', `${FLOWSERVICE}/sourceConnections`, 'prod', {
        ...sourceBody(),
        data: { format: 'xml' },
        extra: 1,
      }),
      400,
      'INVALID_REQUEST',
    );
    expect(unknown.errors?.map((e) => e.field)).toEqual(expect.arrayContaining(['body.data.format', 'body.extra']));
  });

  it('refuses a flow whose references do not exist in the tenant with 400 INVALID_REQUEST naming each', async () => {
    const { source, target } = await newFlow();
    const missing = 'ffffffff-ffff-4fff-8fff-ffffffffffff';
    const dangling = await problem(
      await call('POST', `${FLOWSERVICE}/flows`, 'prod', flowBody(missing, missing)),
      400,
      'INVALID_REQUEST',
    );
    expect(dangling.errors?.map((e) => e.field)).toEqual([
      'body.sourceConnectionIds[0]',
      'body.targetConnectionIds[0]',
    ]);

    const keys = await problem(
      await call(
        'POST',
        `${FLOWSERVICE}/flows`,
        'prod',
        flowBody(source.id, target.id, { publicKeyId: 'deleted-key', signVerificationKeyId: 'nobody' }),
      ),
      400,
      'INVALID_REQUEST',
    );
    expect(keys.errors?.map((e) => e.field)).toEqual([
      'body.transformations[1].params.publicKeyId',
      'body.transformations[1].params.signVerificationKeyId',
    ]);

    const noKey = await problem(
      await call('POST', `${FLOWSERVICE}/flows`, 'prod', flowBody(source.id, target.id, {})),
      400,
      'INVALID_REQUEST',
    );
    expect(noKey.errors?.map((e) => e.field)).toEqual(['body.transformations[1].params.publicKeyId']);

    const noEncryption = await problem(
      await call('POST', `${FLOWSERVICE}/flows`, 'prod', {
        ...flowBody(source.id, target.id),
        transformations: [{ name: 'Mapping' }],
      }),
      400,
      'INVALID_REQUEST',
    );
    expect(noEncryption.errors?.map((e) => e.field)).toEqual(['body.transformations']);
  });

  it('keeps sandboxes apart: connections and flows created in dev are 404 NOT_FOUND from prod, and not usable there', async () => {
    const dev = await newFlow('dev');
    await problem(await call('GET', `${FLOWSERVICE}/flows/${dev.flow.id}`, 'prod'), 404, 'NOT_FOUND');
    await problem(await call('GET', `${FLOWSERVICE}/sourceConnections/${dev.source.id}`, 'prod'), 404, 'NOT_FOUND');
    await problem(await call('GET', `${FLOWSERVICE}/targetConnections/${dev.target.id}`, 'prod'), 404, 'NOT_FOUND');
    await problem(await call('DELETE', `${FLOWSERVICE}/flows/${dev.flow.id}`, 'prod'), 404, 'NOT_FOUND');
    const crossed = await problem(
      await call('POST', `${FLOWSERVICE}/flows`, 'prod', flowBody(dev.source.id, dev.target.id)),
      400,
      'INVALID_REQUEST',
    );
    expect(crossed.errors?.map((e) => e.field)).toEqual(['body.sourceConnectionIds[0]', 'body.targetConnectionIds[0]']);
    const prodList = (await (await call('GET', `${FLOWSERVICE}/flows`, 'prod')).json()) as { items: { id: string }[] };
    expect(prodList.items.map((i) => i.id)).not.toContain(dev.flow.id);
    expect((await call('GET', `${FLOWSERVICE}/flows/${dev.flow.id}`, 'dev')).status).toBe(200);
  });

  it('deletes a flow softly: 204, then GET shows state deleted, the list omits it, and a second DELETE is 204 too', async () => {
    const { flow } = await newFlow();
    const res = await call('DELETE', `${FLOWSERVICE}/flows/${flow.id}`);
    expect(res.status).toBe(204);
    const { items } = (await (await call('GET', `${FLOWSERVICE}/flows/${flow.id}`)).json()) as {
      items: { state: string; etag: string }[];
    };
    expect(items[0]?.state).toBe('deleted');
    expect(items[0]?.etag).not.toBe(flow.etag);
    const list = (await (await call('GET', `${FLOWSERVICE}/flows`)).json()) as { items: { id: string }[] };
    expect(list.items.map((i) => i.id)).not.toContain(flow.id);
    expect((await call('DELETE', `${FLOWSERVICE}/flows/${flow.id}`)).status).toBe(204);
    await problem(await call('DELETE', `${FLOWSERVICE}/flows/ffffffff-ffff-4fff-8fff-ffffffffffff`), 404, 'NOT_FOUND');
  });

  it('lists the runs of a flow and the batches and files they committed, as an ingestion recorded them', async () => {
    const { flow, dataSetId } = await newFlow();
    const scope: SandboxScope = { orgId: ORG, sandbox: 'prod' };
    const deps = { tables };
    const ok = await startRun(deps, scope, {
      flowId: flow.id,
      fileName: 'incoming/a.csv.gpg',
      blobETag: '"0x1"',
      inputBytes: 120,
    });
    const batchId = batchIdForRun(ok.run.id);
    const fileId = batchFileId(batchId, 0);
    await createBatch(deps, scope, {
      batchId,
      dataSetId,
      runId: ok.run.id,
      flowId: flow.id,
      inputBytes: 120,
      files: [{ fileId, name: 'a.csv', sizeBytes: 80, objectId: 'object-1', records: 4, contentType: 'text/csv' }],
    });
    await completeRun(deps, scope, ok.run.id, {
      status: 'success',
      metrics: { outputBytes: 80, recordCount: 4, durationMs: 30 },
      batchId,
    });
    const bad = await startRun(deps, scope, {
      flowId: flow.id,
      fileName: 'incoming/b.csv.gpg',
      blobETag: '"0x2"',
      inputBytes: 50,
    });
    await failRun(deps, scope, bad.run.id, {
      errors: [{ code: 'DECRYPTION_FAILED', message: 'The data could not be decrypted' }],
      metrics: { durationMs: 5 },
    });
    const pending = await startRun(deps, scope, {
      flowId: flow.id,
      fileName: 'incoming/c.csv.gpg',
      blobETag: '"0x3"',
      inputBytes: 9,
    });

    const runs = await call('GET', `${FLOWSERVICE}/runs?property=${encodeURIComponent(`flowId==${flow.id}`)}`);
    expect(runs.status).toBe(200);
    const { items } = (await runs.json()) as { items: Record<string, unknown>[] };
    const byId = new Map(items.map((r) => [r.id, r]));
    expect(items).toHaveLength(3);
    expect(byId.get(ok.run.id)).toMatchObject({
      flowId: flow.id,
      status: 'success',
      errors: [],
      fileName: 'incoming/a.csv.gpg',
      batchId,
      metrics: { inputBytes: 120, outputBytes: 80, recordCount: 4, durationMs: 30 },
    });
    expect(byId.get(bad.run.id)).toMatchObject({
      status: 'failed',
      errors: [{ code: 'DECRYPTION_FAILED', message: 'The data could not be decrypted' }],
    });
    expect(byId.get(pending.run.id)).toMatchObject({
      status: 'inProgress',
      metrics: { inputBytes: 9, outputBytes: 0 },
    });
    expect(typeof byId.get(ok.run.id)?.createdAt).toBe('number');

    const devRuns = (await (await call('GET', `${FLOWSERVICE}/runs?property=flowId==${flow.id}`, 'dev')).json()) as {
      items: unknown[];
    };
    expect(devRuns.items).toEqual([]);
    await problem(await call('GET', `${FLOWSERVICE}/runs`), 400, 'INVALID_REQUEST');
    await problem(await call('GET', `${FLOWSERVICE}/runs?property=status==failed`), 400, 'INVALID_REQUEST');

    const batches = await call('GET', `/data/foundation/catalog/batches?dataSet=${dataSetId}`);
    expect(batches.status).toBe(200);
    expect(await batches.json()).toEqual({
      [batchId]: expect.objectContaining({
        status: 'success',
        relatedObjects: [{ type: 'dataSet', id: dataSetId }],
        imsOrg: ORG,
        metrics: expect.objectContaining({ outputByteSize: 80, recordsWritten: 4, outputFileCount: 1 }) as unknown,
      }) as unknown,
    });
    expect(await (await call('GET', `/data/foundation/catalog/batches?dataSet=${dataSetId}`, 'dev')).json()).toEqual(
      {},
    );
    await problem(await call('GET', '/data/foundation/catalog/batches'), 400, 'INVALID_REQUEST');

    const files = await call('GET', `/data/foundation/export/batches/${batchId}/files`);
    expect(files.status).toBe(200);
    expect(await files.json()).toEqual({
      data: [
        {
          dataSetFileId: fileId,
          dataSetViewId: dataSetId,
          version: '1.0.0',
          created: expect.stringMatching(/^\d+$/) as unknown,
          updated: expect.stringMatching(/^\d+$/) as unknown,
          isValid: true,
          // Relative: no PUBLIC_BASE_URL in local mode, and never the request's own origin.
          _links: { self: { href: `/data/foundation/export/files/${fileId}` } },
        },
      ],
      _page: { limit: 100, count: 1 },
    });
    await problem(await call('GET', `/data/foundation/export/batches/${batchId}/files`, 'dev'), 404, 'NOT_FOUND');
    await problem(
      await call('GET', '/data/foundation/export/batches/0123456789abcdef01234567/files'),
      404,
      'NOT_FOUND',
    );
  });
});
