import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { BlobServiceClient, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appServices } from '../../shared/app/root.js';
import type { CompressionType } from '../../shared/flows/source-connections.js';
import { ingestLandedBlob } from '../../shared/ingestion/ingest-landed-file.js';
import { pgpKeyDeps } from '../../shared/app/pgp-key-deps.js';
import { ApiClient, landingZone, waitForRun, type Run } from '../support/api-client.js';
import { gnupg24StyleMessage } from '../support/gnupg24-message.js';
import { GpgHome } from '../support/gpg.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';

const ORG = 'CF0007CCCC@AdobeOrg';
const CSV = Buffer.from(
  ['id,name,amount', ...Array.from({ length: 3000 }, (_, i) => `${i},Zoë ${i * 7919},${(i * 31.7).toFixed(2)}`)].join(
    '\n',
  ) + '\n',
);
const ROWS = 3000;

/** Makes sure a compression CLI is there (Debian package `pkg`), installing it only as root, like ensureGpg. */
function ensureTool(tool: string, pkg: string): void {
  const has = () => {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (has()) return;
  if (process.getuid?.() === 0) {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
  if (!has())
    throw new Error(
      `${tool} is required by the compression tests: install it (Debian: \`apt-get install -y ${pkg}\`).`,
    );
}

const run = (cmd: string, args: string[], input: Buffer, cwd?: string) =>
  execFileSync(cmd, args, { input, cwd, maxBuffer: 512 * 1024 ** 2 });

/**
 * A source connection's `compressionType` says the decrypted file is itself compressed (as Adobe's
 * cloud-storage sources do): gpg encrypts a gzip/bzip2/zip file made by the usual tools, the
 * ingestion decrypts and decompresses it, and the export API returns the original CSV.
 */
describe('ingestion of compressed plaintexts (compressionType)', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let api: ApiClient;
  let gpg: GpgHome;
  let landing: ContainerClient;
  const flows: Partial<Record<CompressionType, string>> = {};
  let flowPublicKey: string;

  beforeAll(async () => {
    ensureTool('bzip2', 'bzip2');
    ensureTool('zip', 'zip');
    gpg = await GpgHome.create();
    stack = await startLocalStack();
    runtime = await startRuntime({
      ...stack.env,
      CIPHERFLOW_QUEUE_MAX_POLL_MS: '200',
    });
    api = new ApiClient(runtime.url, ORG);
    landing = await landingZone(api);

    const key = await api.json<{ publicKey: string; publicKeyId: string }>(
      'POST',
      '/data/foundation/connectors/encryption/keys',
      {
        name: 'compression key',
        encryptionAlgorithm: 'PGP',
        params: { passPhrase: 'compression tests' },
      },
    );
    flowPublicKey = Buffer.from(key.publicKey, 'base64').toString('utf8');
    await gpg.importKey(flowPublicKey);
    const [dataSetRef] = await api.json<string[]>('POST', '/data/foundation/catalog/dataSets', { name: 'compressed' });
    const dataSetId = dataSetRef?.split('/')[2] ?? '';
    const target = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/targetConnections', {
      name: 'to compressed',
      params: { dataSetId },
    });
    for (const type of ['gzip', 'bzip2', 'zip'] as const) {
      const source = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/sourceConnections', {
        name: `landing ${type}`,
        data: { format: 'delimited', properties: { compressionType: type } },
        params: { path: `/${type}/*.csv.gpg` },
      });
      flows[type] = (
        await api.json<{ id: string }>('POST', '/data/foundation/flowservice/flows', {
          name: `flow ${type}`,
          sourceConnectionIds: [source.id],
          targetConnectionIds: [target.id],
          transformations: [{ name: 'Encryption', params: { publicKeyId: key.publicKeyId } }],
        })
      ).id;
    }
  });

  afterAll(async () => {
    await runtime?.stop();
    await stack?.stop();
    await gpg?.dispose();
  });

  async function ingest(type: CompressionType, name: string, compressed: Buffer): Promise<Run> {
    const path = `${type}/${name}`;
    const uploaded = await landing.getBlockBlobClient(path).uploadData(await gpg.encrypt(compressed, 'compression key'));
    return waitForRun(api, flows[type] ?? '', path, { etag: uploaded.etag ?? '' });
  }

  async function exported(done: Run): Promise<Buffer> {
    const files = await api.json<{ data: { dataSetFileId: string }[] }>(
      'GET',
      `/data/foundation/export/batches/${done.batchId ?? ''}/files`,
    );
    const res = await api.request('GET', `/data/foundation/export/files/${files.data[0]?.dataSetFileId ?? ''}`);
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  }

  it.each([
    ['gzip', 'gzip (node:zlib)', () => gzipSync(CSV)],
    ['gzip', 'gzip CLI', () => run('gzip', ['-c'], CSV)],
    ['bzip2', 'bzip2 CLI', () => run('bzip2', ['-c'], CSV)],
    [
      'bzip2',
      'two concatenated bzip2 streams (pbzip2 style)',
      () => Buffer.concat([run('bzip2', ['-c'], CSV.subarray(0, 1000)), run('bzip2', ['-c'], CSV.subarray(1000))]),
    ],
    [
      'zip',
      'zip CLI, sizes in the local header',
      () => {
        return run(
          'sh',
          [
            '-c',
            'cat > customers.csv && zip -q -X customers.zip customers.csv && cat customers.zip && rm customers.zip customers.csv',
          ],
          CSV,
          gpg.dir,
        );
      },
    ],
    ['zip', 'zip CLI from a pipe, with a data descriptor', () => run('zip', ['-q', '-', '-'], CSV)],
  ] as const)('ingests %s (%s) and exports the original CSV byte-identical', async (type, label, make) => {
    const done = await ingest(type, `${label.replace(/\W+/g, '-')}.csv.gpg`, make());
    expect(done.errors).toEqual([]);
    expect(done.status).toBe('success');
    expect(done.metrics).toMatchObject({ outputBytes: CSV.length, recordCount: ROWS });
    expect((await exported(done)).equals(CSV)).toBe(true);
  });

  it('ingests a GnuPG 2.4 style AEAD (OCB, tag 20) message around a gzip file', async () => {
    const message = await gnupg24StyleMessage(flowPublicKey, gzipSync(CSV));
    const uploaded = await landing.getBlockBlobClient('gzip/ocb.csv.gpg').uploadData(message);
    const done = await waitForRun(api, flows.gzip ?? '', 'gzip/ocb.csv.gpg', { etag: uploaded.etag ?? '' });
    expect(done.errors).toEqual([]);
    expect((await exported(done)).equals(CSV)).toBe(true);
  });

  it.each([
    ['gzip', 'truncated', () => gzipSync(CSV).subarray(0, 200)],
    [
      'bzip2',
      'a flipped bit',
      () => {
        const b = run('bzip2', ['-c'], CSV);
        b[b.length >> 1] = (b[b.length >> 1] ?? 0) ^ 0x20;
        return b;
      },
    ],
    ['zip', 'two files in one archive', () => Buffer.from(zipSync({ 'a.csv': CSV, 'b.csv': CSV }))],
    ['zip', 'not compressed at all', () => CSV],
  ] as const)('fails %s plaintext with %s with DECOMPRESSION_FAILED and no batch', async (type, _label, make) => {
    const done = await ingest(type, `corrupt-${Math.random().toString(36).slice(2)}.csv.gpg`, make());
    expect(done.status).toBe('failed');
    expect(done.errors[0]?.code).toBe('DECOMPRESSION_FAILED');
    expect(done.batchId).toBeUndefined();
  });

  // The 1 GiB limit is not a setting: the bomb goes through the domain function with a small
  // `maxFileBytes`, against the same stack, written into the zone straight to Azurite (past the
  // local Event Grid, so the runtime gets no event for it).
  it.each([
    ['gzip', () => gzipSync(Buffer.alloc(64 * 1024 ** 2), { level: 9 })],
    ['bzip2', () => run('bzip2', ['-c', '-9'], Buffer.alloc(64 * 1024 ** 2))],
    ['zip', () => Buffer.from(zipSync({ 'bomb.csv': new Uint8Array(64 * 1024 ** 2) }, { level: 9 }))],
  ] as const)('fails a %s decompression bomb with FILE_TOO_LARGE, stopping at the limit', async (type, make) => {
    Object.assign(process.env, stack.env);
    const services = await appServices();
    const bomb = make();
    expect(bomb.length).toBeLessThan(256 * 1024);
    const { accountName, accountKey, blobEndpoint } = stack.azurite.landing;
    const direct = new BlobServiceClient(blobEndpoint, new StorageSharedKeyCredential(accountName, accountKey));
    const blob = direct.getContainerClient(landing.containerName).getBlockBlobClient(`${type}/bomb.csv.gpg`);
    await blob.uploadData(await gpg.encrypt(bomb, 'compression key', ['--compress-algo', 'none']));
    const started = Date.now();
    const outcome = await ingestLandedBlob(
      { tables: services.tables, objects: services.objects, keys: pgpKeyDeps(services), maxFileBytes: 4 * 1024 ** 2 },
      { blob },
    );
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(outcome).toMatchObject({ kind: 'done', runs: [{ status: 'failed' }] });
    const failed = await waitForRun(api, flows[type] ?? '', `${type}/bomb.csv.gpg`);
    expect(failed.errors[0]?.code).toBe('FILE_TOO_LARGE');
    expect(failed.batchId).toBeUndefined();
  });
});
