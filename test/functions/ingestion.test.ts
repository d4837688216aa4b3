import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, waitForRun } from '../support/api-client.js';
import { ensureGpg, GpgHome } from '../support/gpg.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';

const ORG = 'CF0005EEEE@AdobeOrg';
const CSV = Buffer.from('id,name,email\n1,Ada,ada@example.com\n2,Grace,grace@example.com\n3,Edsger,ed@example.com\n');

/**
 * The customer's journey, end to end: keys by API, gpg on the customer's side, a blob upload with
 * the Storage SDK, decryption on arrival by the blob trigger, plaintext back through the export API.
 */
describe('encrypted data ingestion with gpg', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let api: ApiClient;
  let gpg: GpgHome;
  let landing: ContainerClient;
  let flowId: string;
  let signedFlowId: string;
  let dataSetId: string;
  let ourKeyIds: string[];

  beforeAll(async () => {
    ensureGpg();
    stack = await startLocalStack();
    runtime = await startRuntime({ ...stack.env, CIPHERFLOW_BLOB_POLL_MS: '200', CIPHERFLOW_BLOB_RETRY_DELAY_MS: '300' });
    api = new ApiClient(runtime.url, ORG);
    gpg = await GpgHome.create();
    landing = BlobServiceClient.fromConnectionString(stack.azurite.connectionString).getContainerClient('landing');
    await landing.createIfNotExists();

    // Our key pair: the public half goes to the customer's gpg.
    const key = await api.json<{ publicKey: string; publicKeyId: string; expiryTime: string }>('POST', '/data/foundation/connectors/encryption/keys', {
      name: 'ingestion key',
      encryptionAlgorithm: 'PGP',
      params: { passPhrase: 'a passphrase the customer chose' },
    });
    const armored = Buffer.from(key.publicKey, 'base64').toString('utf8');
    expect(armored).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    await gpg.importKey(armored);
    ourKeyIds = (await gpg.ok(['--with-colons', '--list-keys', 'ingestion key'])).toString().split('\n').filter((l) => /^(pub|sub):/.test(l)).map((l) => l.split(':')[4] ?? '');

    // The customer's signing key, registered for signature verification.
    await gpg.generateKey('Customer <customer@example.com>', 'ed25519', 'sign', '1y');
    const customer = await api.json<{ publicKeyId: string }>('POST', '/data/foundation/connectors/encryption/customer-keys', {
      encryptionAlgorithm: 'PGP',
      publicKey: Buffer.from(await gpg.exportPublic('customer@example.com')).toString('base64'),
    });

    const [dataSetRef] = await api.json<string[]>('POST', '/data/foundation/catalog/dataSets', { name: 'customers' });
    dataSetId = dataSetRef?.split('/')[2] ?? '';
    const target = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/targetConnections', { name: 'to customers', params: { dataSetId } });
    const flow = async (folder: string, encryption: Record<string, string>) => {
      const source = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/sourceConnections', {
        name: `landing ${folder}`,
        data: { format: 'delimited' },
        params: { path: `/${folder}/*.csv.gpg` },
      });
      const created = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/flows', {
        name: `flow ${folder}`,
        sourceConnectionIds: [source.id],
        targetConnectionIds: [target.id],
        transformations: [{ name: 'Encryption', params: encryption }],
        scheduleParams: { startTime: '1700000000', frequency: 'once' },
      });
      return created.id;
    };
    flowId = await flow('incoming', { publicKeyId: key.publicKeyId });
    signedFlowId = await flow('signed', { publicKeyId: key.publicKeyId, signVerificationKeyId: customer.publicKeyId });
  });

  afterAll(async () => {
    await runtime?.stop();
    await stack?.stop();
    await gpg?.dispose();
  });

  async function land(path: string, data: Buffer): Promise<string> {
    const uploaded = await landing.getBlockBlobClient(`${ORG}/prod/${path}`).uploadData(data);
    return uploaded.etag ?? '';
  }

  async function exported(run: { batchId?: string }): Promise<Buffer> {
    const files = await api.json<{ data: { dataSetFileId: string }[] }>('GET', `/data/foundation/export/batches/${run.batchId ?? ''}/files`);
    const fileId = files.data[0]?.dataSetFileId ?? '';
    const res = await api.request('GET', `/data/foundation/export/files/${fileId}`);
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  }

  it.each([
    ['binary, default compression', 'a.csv.gpg', [] as string[]],
    ['ASCII-armored, no compression', 'b.csv.gpg', ['--armor', '--compress-algo', 'none']],
    ['binary, no compression', 'c.csv.gpg', ['--compress-algo', 'none']],
    ['armored, bzip2, hidden recipient', 'd.csv.gpg', ['--armor', '--compress-algo', 'bzip2', '--throw-keyids']],
  ])('ingests a gpg file (%s) and exports byte-identical plaintext', async (_label, name, options) => {
    const etag = await land(`incoming/${name}`, await gpg.encrypt(CSV, 'ingestion key', options));
    const run = await waitForRun(api, flowId, `incoming/${name}`, { etag });
    expect(run.status).toBe('success');
    expect(run.metrics).toMatchObject({ outputBytes: CSV.length, recordCount: 3 });
    expect((await exported(run)).equals(CSV)).toBe(true);
    const batches = await api.json<Record<string, { status: string; relatedObjects: { type: string; id: string }[] }>>('GET', `/data/foundation/catalog/batches?dataSet=${dataSetId}`);
    expect(batches[run.batchId ?? '']).toMatchObject({ status: 'success', relatedObjects: [{ type: 'dataSet', id: dataSetId }] });
  });

  it('verifies a signed file against the registered customer key', async () => {
    const etag = await land('signed/s.csv.gpg', await gpg.encrypt(CSV, 'ingestion key', ['--sign', '--local-user', 'customer@example.com']));
    const run = await waitForRun(api, signedFlowId, 'signed/s.csv.gpg', { etag });
    expect(run.status).toBe('success');
    expect((await exported(run)).equals(CSV)).toBe(true);
  });

  it('fails a file signed by another key with SIGNATURE_INVALID and leaves the blob in place', async () => {
    await gpg.generateKey('Mallory <mallory@example.com>', 'ed25519', 'sign', '1y');
    const etag = await land('signed/m.csv.gpg', await gpg.encrypt(CSV, 'ingestion key', ['--sign', '--local-user', 'mallory@example.com']));
    const run = await waitForRun(api, signedFlowId, 'signed/m.csv.gpg', { etag });
    expect(run.status).toBe('failed');
    expect(run.errors[0]?.code).toBe('SIGNATURE_INVALID');
    expect(run.batchId).toBeUndefined();
    expect(await landing.getBlobClient(`${ORG}/prod/signed/m.csv.gpg`).exists()).toBe(true);
  });

  it('fails an unsigned file where a signature is required with SIGNATURE_MISSING', async () => {
    const etag = await land('signed/u.csv.gpg', await gpg.encrypt(CSV, 'ingestion key'));
    const run = await waitForRun(api, signedFlowId, 'signed/u.csv.gpg', { etag });
    expect(run.errors[0]?.code).toBe('SIGNATURE_MISSING');
  });

  it('fails truncated, tampered and foreign-key files with their codes, keeping each blob', async () => {
    const good = await gpg.encrypt(Buffer.concat(Array.from({ length: 2000 }, () => CSV)), 'ingestion key', ['--compress-algo', 'none']);
    const truncated = good.subarray(0, Math.floor(good.length * 0.6));
    const tampered = Buffer.from(good);
    tampered[tampered.length - 200] = (tampered[tampered.length - 200] ?? 0) ^ 0x01;
    await gpg.generateKey('Someone Else <else@example.com>', 'rsa3072', 'encrypt', '1y');
    const foreign = await gpg.encrypt(CSV, 'else@example.com');
    const cases: [string, Buffer, string[]][] = [
      ['truncated.csv.gpg', truncated, ['INTEGRITY_CHECK_FAILED', 'MALFORMED_PGP_MESSAGE']],
      ['tampered.csv.gpg', tampered, ['INTEGRITY_CHECK_FAILED']],
      ['foreign.csv.gpg', foreign, ['NOT_ENCRYPTED_FOR_THIS_KEY']],
      ['plain.csv.gpg', CSV, ['MALFORMED_PGP_MESSAGE']],
    ];
    for (const [name, data, codes] of cases) {
      const etag = await land(`incoming/${name}`, data);
      const run = await waitForRun(api, flowId, `incoming/${name}`, { etag });
      expect(run.status, name).toBe('failed');
      expect(codes, name).toContain(run.errors[0]?.code);
      expect(run.batchId, name).toBeUndefined();
      expect(await landing.getBlobClient(`${ORG}/prod/incoming/${name}`).exists(), name).toBe(true);
      if (name === 'foreign.csv.gpg') {
        expect(run.errors[0]?.message).not.toContain(ourKeyIds[1] ?? 'none');
        expect(run.errors[0]?.message).toMatch(/key id\(s\) [0-9A-F]{16}/);
      }
    }
  });

  it('processes a re-uploaded file again, once per version', async () => {
    const first = await land('incoming/again.csv.gpg', await gpg.encrypt(CSV, 'ingestion key'));
    expect((await waitForRun(api, flowId, 'incoming/again.csv.gpg', { etag: first })).status).toBe('success');
    const second = await land('incoming/again.csv.gpg', await gpg.encrypt(CSV, 'ingestion key', ['--armor']));
    expect((await waitForRun(api, flowId, 'incoming/again.csv.gpg', { etag: second })).status).toBe('success');
    const { items } = await api.json<{ items: { fileName: string }[] }>('GET', `/data/foundation/flowservice/runs?property=flowId==${flowId}`);
    expect(items.filter((r) => r.fileName === 'incoming/again.csv.gpg')).toHaveLength(2);
  });

  it('ignores files outside any flow and outside tenant prefixes', async () => {
    await landing.getBlockBlobClient(`${ORG}/prod/elsewhere/x.csv.gpg`).uploadData(await gpg.encrypt(CSV, 'ingestion key'));
    await landing.getBlockBlobClient(`not-a-tenant.csv.gpg`).uploadData(CSV);
    await runtime.waitForLine((e) => typeof e.message === 'string' && e.message.includes('"reason":"outside-tenant-prefix"'));
    await runtime.waitForLine((e) => typeof e.message === 'string' && e.message.includes('"reason":"no-matching-flow"'));
  });
});
