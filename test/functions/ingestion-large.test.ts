import { spawn } from 'node:child_process';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, landingZone, waitForRun } from '../support/api-client.js';
import { csvStream, recordsIn } from '../support/csv-lines.js';
import { ensureGpg, GpgHome } from '../support/gpg.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { peakRss, startRuntime, type RuntimeProcess } from '../support/runtime-process.js';

const ORG = 'CF0006FFFF@AdobeOrg';
const SIZE = 1024 ** 3;


describe('ingesting a 1 GiB file', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let gpg: GpgHome;

  beforeAll(async () => {
    ensureGpg();
    stack = await startLocalStack();
    runtime = await startRuntime({ ...stack.env, CIPHERFLOW_QUEUE_MAX_POLL_MS: '200' });
    gpg = await GpgHome.create();
  });
  afterAll(async () => {
    await runtime?.stop();
    await stack?.stop();
    await gpg?.dispose();
  });

  it('decrypts and stores it with flat memory in the runtime', { timeout: 600_000 }, async () => {
    const api = new ApiClient(runtime.url, ORG);
    const key = await api.json<{ publicKey: string; publicKeyId: string }>('POST', '/data/foundation/connectors/encryption/keys', {
      name: 'large',
      encryptionAlgorithm: 'PGP',
      params: { passPhrase: 'large file passphrase' },
    });
    await gpg.importKey(Buffer.from(key.publicKey, 'base64').toString('utf8'));
    const [ref] = await api.json<string[]>('POST', '/data/foundation/catalog/dataSets', { name: 'large' });
    const dataSetId = ref?.split('/')[2] ?? '';
    const source = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/sourceConnections', {
      name: 'large', data: { format: 'delimited' }, params: { path: '/big/*.csv.gpg' },
    });
    const target = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/targetConnections', { name: 'large', params: { dataSetId } });
    const flow = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/flows', {
      name: 'large', sourceConnectionIds: [source.id], targetConnectionIds: [target.id],
      transformations: [{ name: 'Encryption', params: { publicKeyId: key.publicKeyId } }],
    });

    // The customer's side: gpg encrypts the generated CSV as a stream into a file.
    const encrypted = path.join(gpg.dir, 'big.csv.gpg');
    const child = spawn('gpg', ['--homedir', gpg.dir, '--batch', '--yes', '--trust-model', 'always', '--compress-algo', 'none',
      '--encrypt', '--recipient', 'large', '--output', encrypted], { stdio: ['pipe', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await pipeline(csvStream(SIZE), child.stdin);
    expect(await exited).toBe(0);

    const before = peakRss(runtime.child.pid ?? 0);
    // Block by block through the landing zone's SAS; the block list's commit raises the event.
    const landing = await landingZone(api);
    const uploaded = await landing.getBlockBlobClient('big/big.csv.gpg').uploadFile(encrypted, {
      blockSize: 8 * 1024 * 1024,
      concurrency: 4,
    });
    const run = await waitForRun(api, flow.id, 'big/big.csv.gpg', { etag: uploaded.etag ?? '', timeoutMs: 540_000 });
    const growth = peakRss(runtime.child.pid ?? 0) - before;
    process.stdout.write(`1 GiB ingestion: ${run.metrics.durationMs} ms, runtime peak RSS growth ${(growth / 2 ** 20).toFixed(0)} MiB\n`);
    expect(run.status).toBe('success');
    expect(run.metrics.outputBytes).toBe(SIZE);
    expect(run.metrics.recordCount).toBe(recordsIn(SIZE));
    // Buffering the file anywhere would grow the runtime by about a GiB.
    expect(growth).toBeLessThan(200 * 1024 * 1024);
  });
});
