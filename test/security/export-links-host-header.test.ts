import { request as httpRequest } from 'node:http';
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchFileId, createBatch } from '../../shared/catalog/batches.js';
import { createTableFactory } from '../../shared/storage/tenant-table.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { apiHeaders } from '../support/tokens.js';

const ORG = 'CF17A10HOST@AdobeOrg';
const PUBLIC_BASE_URL = 'https://api.cipherflow.example';
const EVIL = 'evil.example';
const BATCH_ID = '0f1e2d3c4b5a69788796a5b4';

/**
 * Attack: the export file list built its `_links` from the request's own URL, whose origin the
 * Functions host takes from the `Host` header: a request with `Host: evil.example` got download
 * links to evil.example (host header injection; poisoned caches and phishing links follow). Links
 * now come from the configured `PUBLIC_BASE_URL`, never from the request.
 */
describe('attack: a forged Host header echoed into the answer', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  beforeAll(async () => {
    stack = await startLocalStack();
    runtime = await startRuntime({ ...stack.env, PUBLIC_BASE_URL });
    const tables = createTableFactory((name) => TableClient.fromConnectionString(stack.azurite.connectionString, name, { allowInsecureConnection: true }));
    await createBatch({ tables }, { orgId: ORG, sandbox: 'prod' }, {
      batchId: BATCH_ID,
      dataSetId: '5f3c0c2b9d4e8a7b6c1d2e3f',
      runId: '11111111-2222-4333-8444-555555555555',
      flowId: '66666666-7777-4888-8999-000000000000',
      files: [{ fileId: batchFileId(BATCH_ID, 0), name: 'customers.csv', sizeBytes: 10, objectId: 'object-1', contentType: 'text/csv' }],
    });
  });
  afterAll(async () => {
    await runtime.stop();
    await stack.stop();
  });

  /** A GET with a forged `Host` (fetch will not send one), answered as raw header and body text. */
  async function forged(path: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; body: string }> {
    const url = new URL(path, runtime.url);
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname + url.search, headers: { ...headers, host: EVIL } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, text: `${JSON.stringify(res.headers)}\n${body}`, body });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('links export files under PUBLIC_BASE_URL, with no evil.example anywhere in the answer', async () => {
    const res = await forged(`/data/foundation/export/batches/${BATCH_ID}/files`, await apiHeaders(ORG, 'prod'));
    expect(res.status, res.body).toBe(200);
    expect(res.text).not.toContain(EVIL);
    const files = JSON.parse(res.body) as { data: { _links: { self: { href: string } } }[] };
    expect(files.data.map((f) => f._links.self.href)).toEqual([`${PUBLIC_BASE_URL}/data/foundation/export/files/${batchFileId(BATCH_ID, 0)}`]);
  });

  it.each([
    ['/health', false],
    ['/openapi.json', false],
    ['/no/such/route', false],
    ['/data/foundation/sandbox-management/sandboxes?limit=1', true],
    ['/data/foundation/export/files/no-such-file', true],
    ['/data/foundation/export/batches/ffffffffffffffffffffffff/files', true],
  ] as const)('echoes no evil.example from %s', async (path, authenticated) => {
    const res = await forged(path, authenticated ? await apiHeaders(ORG, 'prod') : {});
    expect(res.status).toBeGreaterThan(0);
    expect(res.text).not.toContain(EVIL);
  });
});
