import { setTimeout as sleep } from 'node:timers/promises';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { beforeEach, describe, expect, it } from 'vitest';
import { compileBlobPath } from '../../local/runtime/blob-trigger.js';
import { until, useFixtureApp } from '../support/fixture-app.js';

const POLL_MS = 150;

interface Entry {
  fn: string;
  pid: number;
  name?: string;
  content?: string | null;
  [key: string]: unknown;
}

describe('compileBlobPath', () => {
  it('binds {name} across slashes and literal text around parameters', () => {
    expect(compileBlobPath('landing/{name}').match('a/b.txt')).toEqual({ name: 'a/b.txt' });
    const csv = compileBlobPath('in/prefix-{name}.csv');
    expect(csv.prefix).toBe('prefix-');
    expect(csv.match('prefix-x.csv')).toEqual({ name: 'x' });
    expect(csv.match('other-x.csv')).toBeUndefined();
    expect(compileBlobPath('in/{name}.{ext}').match('a.b.c')).toEqual({ name: 'a.b', ext: 'c' });
  });

  it('refuses a path without a literal container', () => {
    expect(() => compileBlobPath('{c}/{name}')).toThrow(/literal container/);
  });
});

describe('blob trigger (runtime child process on Azurite)', () => {
  const app = useFixtureApp<Entry>('blob-app', { CIPHERFLOW_BLOB_POLL_MS: String(POLL_MS), CIPHERFLOW_BLOB_RETRY_DELAY_MS: '100' });
  const { start, stop, records } = app;
  let blobs: BlobServiceClient;

  beforeEach(() => {
    blobs = BlobServiceClient.fromConnectionString(app.azurite.connectionString);
  });

  async function upload(container: string, name: string, content: string, metadata?: Record<string, string>): Promise<string> {
    const client = blobs.getContainerClient(container);
    await client.createIfNotExists();
    const res = await client.getBlockBlobClient(name).upload(content, Buffer.byteLength(content), metadata === undefined ? {} : { metadata });
    if (res.etag === undefined) throw new Error('no etag');
    return res.etag;
  }

  /** Processes a fresh sentinel blob, then lets a few more scans pass: any duplicate shows up by then. */
  async function settle(container: string, fn: string): Promise<void> {
    const name = `zz-sentinel-${Date.now()}.txt`;
    await upload(container, name, 'sentinel');
    await until(async () => (await records(fn)).some((e) => e.name === name), `sentinel ${name}`);
    await sleep(POLL_MS * 4);
  }

  it('fires exactly once per blob version across a runtime restart, and again for a changed blob', async () => {
    const etagA1 = await upload('landing', 'a.txt', 'a-v1', { origin: 'test' });
    await upload('landing', 'b.txt', 'b-v1');
    await upload('landing', 'nested/c.txt', 'c-v1');

    const first = await start();
    await until(async () => (await records('ingest')).length >= 3, 'first three blobs');
    await stop(first);

    await start();
    await upload('landing', 'd.txt', 'd-v1');
    await upload('landing', 'e.txt', 'e-v1');
    const etagA2 = await upload('landing', 'a.txt', 'a-v2');
    expect(etagA2).not.toBe(etagA1);
    await until(async () => (await records('ingest')).length >= 6, 'six invocations');
    await settle('landing', 'ingest');

    const seen = (await records('ingest')).filter((e) => !String(e.name).startsWith('zz-sentinel'));
    const byName = (name: string) => seen.filter((e) => e.name === name).map((e) => e.content);
    expect(byName('a.txt')).toEqual(['a-v1', 'a-v2']);
    expect(byName('b.txt')).toEqual(['b-v1']);
    expect(byName('nested/c.txt')).toEqual(['c-v1']);
    expect(byName('d.txt')).toEqual(['d-v1']);
    expect(byName('e.txt')).toEqual(['e-v1']);
    expect(seen).toHaveLength(6);

    // What the handler saw, converted from the host-shaped trigger metadata by @azure/functions.
    const a1 = seen.find((e) => e.content === 'a-v1');
    expect(a1).toMatchObject({
      isBuffer: true,
      blobTrigger: 'landing/a.txt',
      etag: etagA1,
      contentLength: 4,
      metadata: { origin: 'test' },
    });
    expect(String(a1?.uri)).toMatch(/\/landing\/a\.txt$/);

    // Receipts in the host's layout, all complete.
    const receipts = await listReceipts(blobs.getContainerClient('azure-webjobs-hosts'), 'blobreceipts/cipherflow-local/Host.Functions.ingest/');
    expect(receipts.filter((r) => !r.name.includes('zz-sentinel'))).toHaveLength(6);
    expect(receipts.map((r) => r.name)).toContain(`blobreceipts/cipherflow-local/Host.Functions.ingest/${etagA1}/landing/a.txt`);
    for (const r of receipts) expect(Object.keys(r.metadata).map((k) => k.toLowerCase())).not.toContain('incomplete');
  });

  it('reports a blob as poison after 5 failed attempts, counting attempts across a restart, and never retries it', async () => {
    const etag = await upload('poison', 'bad-1.txt', 'broken');
    const first = await start();
    await until(async () => (await records('flaky')).filter((e) => e.name === 'bad-1.txt').length >= 2, 'two failed attempts');
    await stop(first);

    const second = await start();
    const queue = QueueServiceClient.fromConnectionString(app.azurite.connectionString).getQueueClient('webjobs-blobtrigger-poison');
    let messages: string[] = [];
    await until(async () => {
      messages = await peekAll(queue);
      return messages.length > 0;
    }, 'poison message');
    await second.waitForLine((e) => e.event === 'blob-poisoned' && e.blobName === 'bad-1.txt');
    await settle('poison', 'flaky');

    expect(messages.map((m) => JSON.parse(Buffer.from(m, 'base64').toString('utf8')) as unknown)).toEqual([
      { Type: 'BlobTrigger', FunctionId: 'Host.Functions.flaky', BlobType: 'BlockBlob', ContainerName: 'poison', BlobName: 'bad-1.txt', ETag: etag },
    ]);
    const attempts = (await records('flaky')).filter((e) => e.name === 'bad-1.txt');
    expect(attempts.map((e) => e.retryCount)).toEqual([0, 1, 2, 3, 4]);
    expect(await peekAll(queue)).toHaveLength(1);
  });

  it('processes each blob once when two runtime instances share the storage account', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `shared-${String(i).padStart(2, '0')}.txt`);
    for (const name of names) await upload('landing', name, name);
    await Promise.all([start({ CIPHERFLOW_TEST_HANDLER_DELAY_MS: '300' }), start({ CIPHERFLOW_TEST_HANDLER_DELAY_MS: '300' })]);
    await until(async () => new Set((await records('ingest')).map((e) => e.name)).size >= names.length, 'all shared blobs');
    await settle('landing', 'ingest');

    const seen = (await records('ingest')).filter((e) => String(e.name).startsWith('shared-'));
    expect(seen.map((e) => e.name).sort()).toEqual(names);
  });

  it('passes SDK-type blob bindings as model binding data, with path parameters as trigger metadata', async () => {
    await upload('sdk', 'reports/q1.csv', 'x,y');
    await start();
    await until(async () => (await records('sdk')).length >= 1, 'sdk invocation');
    const [entry] = await records('sdk');
    expect(entry).toMatchObject({
      client: {
        version: '1.0',
        source: 'AzureStorageBlobs',
        contentType: 'application/json',
        content: { Connection: 'AzureWebJobsStorage', ContainerName: 'sdk', BlobName: 'reports/q1.csv' },
      },
      params: { folder: 'reports', file: 'q1', ext: 'csv' },
    });
  });
});

async function peekAll(queue: ReturnType<QueueServiceClient['getQueueClient']>): Promise<string[]> {
  if (!(await queue.exists())) return [];
  const res = await queue.peekMessages({ numberOfMessages: 32 });
  return res.peekedMessageItems.map((m) => m.messageText);
}

async function listReceipts(container: ContainerClient, prefix: string): Promise<{ name: string; metadata: Record<string, string> }[]> {
  const out: { name: string; metadata: Record<string, string> }[] = [];
  for await (const item of container.listBlobsFlat({ prefix, includeMetadata: true })) {
    out.push({ name: item.name, metadata: item.metadata ?? {} });
  }
  return out;
}
