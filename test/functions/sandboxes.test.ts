import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATASETS_TABLE } from '../../shared/catalog/datasets.js';
import { tenantPartitionKey } from '../../shared/storage/tenant-table.js';
import { ApiClient } from '../support/api-client.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';

const ORG = 'CF1600SBOX@AdobeOrg';
const OTHER_ORG = 'CF1600OTHR@AdobeOrg';
const SANDBOXES = '/data/foundation/sandbox-management/sandboxes';
const DATASETS = '/data/foundation/catalog/dataSets';

interface Sandbox {
  name: string;
  title: string;
  state: string;
  type: string;
  isDefault: boolean;
  eTag: number;
  createdDate: string;
}
interface Problem {
  status: number;
  code: string;
  errors?: { field: string }[];
}

/** Sandboxes as resources: Adobe's sandbox-management paths, and 404 SANDBOX_NOT_FOUND for any other name. */
describe('sandboxes through the local runtime', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let datasets: TableClient;

  beforeAll(async () => {
    stack = await startLocalStack();
    // Data written before sandboxes were resources: `legacy` must be backfilled, not refused.
    datasets = TableClient.fromConnectionString(stack.azurite.connectionString, DATASETS_TABLE, { allowInsecureConnection: true });
    await datasets.createTable();
    await datasets.createEntity({ partitionKey: tenantPartitionKey({ orgId: ORG, sandbox: 'legacy' }), rowKey: 'a'.repeat(24), name: 'old', created: 1, updated: 1, createdClient: 'c', createdUser: 'u' });
    runtime = await startRuntime(stack.env);
  });
  afterAll(async () => {
    await runtime?.stop();
    await stack?.stop();
  });

  const api = (sandbox = 'prod', org = ORG) => new ApiClient(runtime.url, org, sandbox);

  async function problem(res: Response, status: number, code: string): Promise<Problem> {
    const text = await res.text();
    expect(res.status, text).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const body = JSON.parse(text) as Problem;
    expect(body.code).toBe(code);
    return body;
  }

  async function datasetRows(sandbox: string): Promise<number> {
    let n = 0;
    const filter = `PartitionKey eq '${tenantPartitionKey({ orgId: ORG, sandbox })}'`;
    for await (const row of datasets.listEntities({ queryOptions: { filter } })) n += row.partitionKey === undefined ? 0 : 1;
    return n;
  }

  it('lists prod from the start, as the default production sandbox, and the backfilled legacy one', async () => {
    const list = await api().json<{ sandboxes: Sandbox[]; _page: { count: number } }>('GET', SANDBOXES);
    expect(list.sandboxes.map((s) => s.name)).toEqual(['prod', 'legacy']);
    expect(list.sandboxes[0]).toMatchObject({ name: 'prod', type: 'production', isDefault: true, state: 'active' });
    expect(list.sandboxes[1]).toMatchObject({ name: 'legacy', type: 'development', isDefault: false });
    expect(list._page.count).toBe(2);
    // The backfilled sandbox serves its old data.
    const old = await api('legacy').json<Record<string, { name: string }>>('GET', `${DATASETS}/${'a'.repeat(24)}`);
    expect(old['a'.repeat(24)]?.name).toBe('old');
  });

  it('refuses a mistyped sandbox with 404 SANDBOX_NOT_FOUND on every route, and creates nothing', async () => {
    await problem(await api('prdo').request('POST', DATASETS, { name: 'typo' }), 404, 'SANDBOX_NOT_FOUND');
    await problem(await api('prdo').request('GET', '/data/foundation/connectors/encryption/keys'), 404, 'SANDBOX_NOT_FOUND');
    await problem(await api('prdo').request('GET', SANDBOXES), 404, 'SANDBOX_NOT_FOUND');
    expect(await datasetRows('prdo')).toBe(0);
    await problem(await api().request('GET', `${SANDBOXES}/prdo`), 404, 'SANDBOX_NOT_FOUND');
  });

  it('creates a development sandbox that then takes data, and refuses a second one of the same name', async () => {
    const res = await api().request('POST', SANDBOXES, { name: 'dev', title: 'Development', type: 'development' });
    expect(res.status).toBe(201);
    const created = (await res.json()) as Sandbox;
    expect(created).toMatchObject({ name: 'dev', title: 'Development', type: 'development', state: 'active', isDefault: false, eTag: 1 });
    expect(created.createdDate).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(await api().json<Sandbox>('GET', `${SANDBOXES}/dev`)).toEqual(created);

    const [ref] = await api('dev').json<string[]>('POST', DATASETS, { name: 'in dev' });
    expect(ref).toMatch(/^@\/dataSets\/[0-9a-f]{24}$/);
    expect(await datasetRows('dev')).toBe(1);

    await problem(await api().request('POST', SANDBOXES, { name: 'dev', title: 'Again', type: 'development' }), 409, 'CONFLICT');
  });

  it('validates the body and keeps sandbox management to the production sandbox', async () => {
    const bad = await problem(await api().request('POST', SANDBOXES, { name: 'Bad Name', title: '', type: 'sandbox', extra: 1 }), 400, 'INVALID_REQUEST');
    expect(bad.errors?.map((e) => e.field).sort()).toEqual(['body.extra', 'body.name', 'body.title', 'body.type']);
    await problem(await api('dev').request('POST', SANDBOXES, { name: 'from-dev', title: 'x', type: 'development' }), 403, 'PRODUCTION_SANDBOX_REQUIRED');
    await problem(await api('dev').request('DELETE', `${SANDBOXES}/dev`), 403, 'PRODUCTION_SANDBOX_REQUIRED');
  });

  it('deletes only an empty development sandbox, which is then refused everywhere', async () => {
    await problem(await api().request('DELETE', `${SANDBOXES}/prod`), 409, 'SANDBOX_NOT_DELETABLE');
    const full = await problem(await api().request('DELETE', `${SANDBOXES}/dev`), 409, 'SANDBOX_NOT_EMPTY');
    expect(JSON.stringify(full)).toContain('datasets');
    await problem(await api().request('DELETE', `${SANDBOXES}/nope`), 404, 'SANDBOX_NOT_FOUND');

    await api().json('POST', SANDBOXES, { name: 'scratch', title: 'Scratch', type: 'development' });
    await api('scratch').json('GET', '/data/foundation/connectors/encryption/keys');
    const deleted = await api().json<Sandbox>('DELETE', `${SANDBOXES}/scratch`);
    expect(deleted).toMatchObject({ name: 'scratch', state: 'deleted' });
    await problem(await api('scratch').request('GET', '/data/foundation/connectors/encryption/keys'), 404, 'SANDBOX_NOT_FOUND');
    const names = (await api().json<{ sandboxes: Sandbox[] }>('GET', SANDBOXES)).sandboxes.map((s) => s.name);
    expect(names).not.toContain('scratch');
  });

  it("never shows or accepts another org's sandbox", async () => {
    await problem(await api('prod', OTHER_ORG).request('GET', `${SANDBOXES}/dev`), 404, 'SANDBOX_NOT_FOUND');
    await problem(await api('dev', OTHER_ORG).request('GET', DATASETS.replace('dataSets', 'batches')), 404, 'SANDBOX_NOT_FOUND');
    const theirs = await api('prod', OTHER_ORG).json<{ sandboxes: Sandbox[] }>('GET', SANDBOXES);
    expect(theirs.sandboxes.map((s) => s.name)).toEqual(['prod']);
  });

  it('pages with limit and offset', async () => {
    const page = await api().json<{ sandboxes: Sandbox[]; _page: { limit: number; count: number }; _links: { next?: { href: string } } }>('GET', `${SANDBOXES}?limit=1&offset=1`);
    expect(page.sandboxes.map((s) => s.name)).toEqual(['legacy']);
    expect(page._page).toEqual({ limit: 1, count: 1 });
    expect(page._links.next?.href).toBe(`/${SANDBOXES.slice(1)}?limit=1&offset=2`);
    await problem(await api().request('GET', `${SANDBOXES}?limit=0`), 400, 'INVALID_REQUEST');
  });
});
