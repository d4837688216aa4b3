import { randomBytes } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient, type BlobClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appServices } from '../../shared/app/root.js';
import { BATCHES_TABLE, batchFileId, batchIdForRun } from '../../shared/catalog/batches.js';
import { ingestLandedBlob } from '../../shared/ingestion/ingest-landed-file.js';
import { ENCRYPTION_KEYS_TABLE } from '../../shared/pgp-keys/encryption-keys.js';
import { pgpKeyDeps } from '../../shared/app/pgp-key-deps.js';
import { OBJECTS_CONTAINER, objectBlobName } from '../../shared/storage/object-path.js';
import { tenantPartitionKey, type TableFactory } from '../../shared/storage/tenant-table.js';
import { ApiClient, landingZone, waitForRun, type Run } from '../support/api-client.js';
import { ensureGpg, GpgHome } from '../support/gpg.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';

const ORG = 'CF0005EEEE@AdobeOrg';
const CSV = Buffer.from('id,name,email\n1,Ada,ada@example.com\n2,Grace,grace@example.com\n3,Edsger,ed@example.com\n');
const ROW_COUNT = 2000;
const ROWS = Buffer.from(['id,name,email', ...Array.from({ length: ROW_COUNT }, (_, i) => `${i},Ada ${i},ada${i}@example.com`)].join('\n') + '\n');
/** The `MAX_FILE_BYTES` app setting the runtime gets (the default, 1 GiB, is too big to test). */
const MAX_FILE_BYTES = 1024 * 1024;

/**
 * The customer's journey, end to end: keys by API, gpg on the customer's side, a blob upload with
 * the Storage SDK, decryption on arrival by the queue trigger (a BlobCreated event per upload), plaintext back through the export API.
 */
describe('encrypted data ingestion with gpg', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let api: ApiClient;
  let gpg: GpgHome;
  let landing: ContainerClient;
  let flowId: string;
  let signedFlowId: string;
  let jsonFlowId: string;
  let anyFileFlowId: string;
  let retiredFlowId: string;
  let stagingFlowId: string;
  let retiredKeyId: string;
  let stagingKeyId: string;
  let dataSetId: string;
  let ourKeyIds: string[];
  let objects: ContainerClient;
  let encryptionKeys: TableClient;

  beforeAll(async () => {
    ensureGpg();
    stack = await startLocalStack();
    runtime = await startRuntime({
      ...stack.env,
      CIPHERFLOW_QUEUE_MAX_POLL_MS: '200',
      MAX_FILE_BYTES: String(MAX_FILE_BYTES),
    });
    api = new ApiClient(runtime.url, ORG);
    gpg = await GpgHome.create();
    const blobs = BlobServiceClient.fromConnectionString(stack.azurite.connectionString);
    landing = await landingZone(api);
    objects = blobs.getContainerClient(OBJECTS_CONTAINER);
    encryptionKeys = TableClient.fromConnectionString(stack.azurite.connectionString, ENCRYPTION_KEYS_TABLE, { allowInsecureConnection: true });

    // Our key pairs: the public halves go to the customer's gpg.
    const createKey = async (name: string) => {
      const created = await api.json<{ publicKey: string; publicKeyId: string; expiryTime: string }>('POST', '/data/foundation/connectors/encryption/keys', {
        name,
        encryptionAlgorithm: 'PGP',
        params: { passPhrase: 'a passphrase the customer chose' },
      });
      const armored = Buffer.from(created.publicKey, 'base64').toString('utf8');
      expect(armored).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
      await gpg.importKey(armored);
      return created;
    };
    const key = await createKey('ingestion key');
    retiredKeyId = (await createKey('retired key')).publicKeyId;
    stagingKeyId = (await createKey('staging key')).publicKeyId;
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
    const flow = async (folder: string, encryption: Record<string, string>, format = 'delimited', pattern = '*.csv.gpg') => {
      const source = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/sourceConnections', {
        name: `landing ${folder}`,
        data: { format },
        params: { path: `/${folder}/${pattern}` },
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
    jsonFlowId = await flow('json', { publicKeyId: key.publicKeyId }, 'json', '*.json.gpg');
    anyFileFlowId = await flow('any', { publicKeyId: key.publicKeyId }, 'delimited', '*');
    retiredFlowId = await flow('retired', { publicKeyId: retiredKeyId });
    stagingFlowId = await flow('staging', { publicKeyId: stagingKeyId });
  });

  afterAll(async () => {
    await runtime?.stop();
    await stack?.stop();
    await gpg?.dispose();
  });

  async function land(path: string, data: Buffer): Promise<string> {
    const uploaded = await landing.getBlockBlobClient(path).uploadData(data);
    return uploaded.etag ?? '';
  }

  /** The blob a run stages its plaintext in before its batch is committed. */
  function stagedObject(run: Run): BlobClient {
    const objectId = `batch-file.${batchFileId(batchIdForRun(run.id), 0)}`;
    return objects.getBlobClient(objectBlobName({ orgId: ORG, sandbox: 'prod' }, objectId));
  }

  /** Marks a key deleted as `DELETE .../keys/{id}` does, which refuses it while a flow uses the key. */
  async function retireKey(publicKeyId: string): Promise<void> {
    await encryptionKeys.updateEntity({ partitionKey: tenantPartitionKey({ orgId: ORG, sandbox: 'prod' }), rowKey: publicKeyId, status: 'deleted' }, 'Merge');
  }

  async function expectFailedAndKept(run: Run, path: string, code: string): Promise<void> {
    expect(run.status, path).toBe('failed');
    expect(run.errors[0]?.code, path).toBe(code);
    expect(run.batchId, path).toBeUndefined();
    expect(await landing.getBlobClient(path).exists(), path).toBe(true);
    expect(await stagedObject(run).exists(), path).toBe(false);
  }

  async function exported(run: { batchId?: string }): Promise<Buffer> {
    const files = await api.json<{ data: { dataSetFileId: string }[] }>('GET', `/data/foundation/export/batches/${run.batchId ?? ''}/files`);
    const fileId = files.data[0]?.dataSetFileId ?? '';
    const res = await api.request('GET', `/data/foundation/export/files/${fileId}`);
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  }

  // Our keys list "uncompressed" first in their preferences, so gpg compresses only when told to.
  it.each([
    ['binary, default compression', 'a.csv.gpg', [] as string[], false],
    ['ASCII-armored, no compression', 'b.csv.gpg', ['--armor', '--compress-algo', 'none'], false],
    ['binary, no compression', 'c.csv.gpg', ['--compress-algo', 'none'], false],
    ['armored, bzip2, hidden recipient', 'd.csv.gpg', ['--armor', '--compress-algo', 'bzip2', '--throw-keyids'], true],
    ['binary, ZLIB', 'e.csv.gpg', ['--compress-algo', 'zlib'], true],
    ['armored, ZIP', 'f.csv.gpg', ['--armor', '--compress-algo', 'zip'], true],
  ])('ingests a gpg file (%s) and exports byte-identical plaintext', async (_label, name, options, compressed) => {
    const encrypted = await gpg.encrypt(ROWS, 'ingestion key', options);
    // The packet is really compressed (or not): the repetitive CSV shrinks to a fraction.
    expect(encrypted.length < ROWS.length / 2).toBe(compressed);
    const etag = await land(`incoming/${name}`, encrypted);
    const run = await waitForRun(api, flowId, `incoming/${name}`, { etag });
    expect(run.status).toBe('success');
    expect(run.metrics).toMatchObject({ outputBytes: ROWS.length, recordCount: ROW_COUNT });
    expect((await exported(run)).equals(ROWS)).toBe(true);
    const batches = await api.json<Record<string, { status: string; relatedObjects: { type: string; id: string }[] }>>('GET', `/data/foundation/catalog/batches?dataSet=${dataSetId}`);
    expect(batches[run.batchId ?? '']).toMatchObject({ status: 'success', relatedObjects: [{ type: 'dataSet', id: dataSetId }] });
  });

  // A JSON record is an element of a file that is one JSON array, or a top-level value otherwise
  // (JSON Lines): not a line, as for delimited files.
  it.each([
    ['a pretty-printed JSON array', 'array.json.gpg', '[\n  {"id": 1, "name": "Ada", "tags": ["math", "engines"]},\n  {"id": 2, "name": "Grace, \\"Amazing\\" [Navy]"},\n  {"id": 3, "name": "Edsger", "notes": {"goto": null}}\n]\n'],
    ['JSON Lines', 'lines.json.gpg', '{"id":1,"name":"Ada"}\n{"id":2,"name":"Grace"}\n\n{"id":3,"name":"Edsger"}\n'],
  ])('ingests %s from a JSON flow, counting its records', async (_label, name, text) => {
    const json = Buffer.from(text);
    const etag = await land(`json/${name}`, await gpg.encrypt(json, 'ingestion key'));
    const run = await waitForRun(api, jsonFlowId, `json/${name}`, { etag });
    expect(run.status).toBe('success');
    expect(run.metrics).toMatchObject({ outputBytes: json.length, recordCount: 3 });
    expect((await exported(run)).equals(json)).toBe(true);
  });

  it('fails a decrypted file over MAX_FILE_BYTES with FILE_TOO_LARGE, keeping the blob', async () => {
    const big = Buffer.concat(Array.from({ length: Math.ceil((2 * MAX_FILE_BYTES) / ROWS.length) }, () => ROWS));
    const encrypted = await gpg.encrypt(big, 'ingestion key', ['--compress-algo', 'none']);
    const etag = await land('incoming/big.csv.gpg', encrypted);
    const run = await waitForRun(api, flowId, 'incoming/big.csv.gpg', { etag });
    await expectFailedAndKept(run, 'incoming/big.csv.gpg', 'FILE_TOO_LARGE');
    // Found while decrypting: the landed file itself is within what the limit allows.
    expect(run.errors[0]?.message).toMatch(/decrypted file exceeds/);
  });

  it('fails a landed file too large to decrypt within MAX_FILE_BYTES before decrypting it', async () => {
    // Not even OpenPGP: decrypting it would fail with MALFORMED_PGP_MESSAGE.
    const etag = await land('incoming/huge.csv.gpg', randomBytes(3 * MAX_FILE_BYTES));
    const run = await waitForRun(api, flowId, 'incoming/huge.csv.gpg', { etag });
    await expectFailedAndKept(run, 'incoming/huge.csv.gpg', 'FILE_TOO_LARGE');
    expect(run.errors[0]?.message).toBe(`The file is larger than the limit of ${MAX_FILE_BYTES} bytes.`);
  });

  it('fails a file whose name is not a data file with UNSUPPORTED_FILE_TYPE, keeping the blob', async () => {
    const etag = await land('any/report.txt', await gpg.encrypt(CSV, 'ingestion key'));
    const run = await waitForRun(api, anyFileFlowId, 'any/report.txt', { etag });
    await expectFailedAndKept(run, 'any/report.txt', 'UNSUPPORTED_FILE_TYPE');
  });

  it('fails a file for a flow whose key was deleted with ENCRYPTION_KEY_NOT_FOUND, keeping the blob', async () => {
    const encrypted = await gpg.encrypt(CSV, 'retired key');
    await retireKey(retiredKeyId);
    const etag = await land('retired/r.csv.gpg', encrypted);
    const run = await waitForRun(api, retiredFlowId, 'retired/r.csv.gpg', { etag });
    await expectFailedAndKept(run, 'retired/r.csv.gpg', 'ENCRYPTION_KEY_NOT_FOUND');
    expect(run.errors[0]?.message).toContain(retiredKeyId);
  });

  // Through the domain function against the same stack, with a blob written into the zone straight
  // to Azurite (past the local Event Grid, so no event): the batches table is made unreachable (a
  // real client of a closed port) for one attempt.
  it('deletes the plaintext an earlier attempt staged once the run fails for good', async () => {
    Object.assign(process.env, stack.env);
    const services = await appServices();
    const direct = BlobServiceClient.fromConnectionString(stack.landing.connectionString.replace(stack.landing.blobEndpoint, stack.azurite.landing.blobEndpoint));
    const blob = direct.getContainerClient(landing.containerName).getBlockBlobClient('staging/s.csv.gpg');
    await blob.uploadData(await gpg.encrypt(CSV, 'staging key'));
    const deps = { tables: services.tables, objects: services.objects, keys: pgpKeyDeps(services) };

    // Attempt 1 stages the plaintext, then cannot commit the batch: a transient fault, retried.
    const closedPort = stack.azurite.connectionString.replace(/TableEndpoint=[^;]+/, 'TableEndpoint=http://127.0.0.1:1/devstoreaccount1');
    const unreachable = TableClient.fromConnectionString(closedPort, BATCHES_TABLE, { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
    const tables: TableFactory = (name) => (name === BATCHES_TABLE ? Promise.resolve(unreachable) : services.tables(name));
    await expect(ingestLandedBlob({ ...deps, tables }, { blob })).rejects.toThrow();
    const { items } = await api.json<{ items: Run[] }>('GET', `/data/foundation/flowservice/runs?property=flowId==${stagingFlowId}`);
    const pending = items.find((r) => r.fileName === 'staging/s.csv.gpg');
    if (pending === undefined) throw new Error('attempt 1 recorded no run');
    expect(pending.status).toBe('inProgress');
    const staged = stagedObject(pending);
    expect(await staged.exists()).toBe(true);

    // Attempt 2 fails for good (the flow's key is gone meanwhile): nothing staged is left.
    await retireKey(stagingKeyId);
    expect(await ingestLandedBlob(deps, { blob })).toMatchObject({ kind: 'done', runs: [{ status: 'failed' }] });
    const failed = await waitForRun(api, stagingFlowId, 'staging/s.csv.gpg');
    expect(failed.id).toBe(pending.id);
    expect(failed.errors[0]?.code).toBe('ENCRYPTION_KEY_NOT_FOUND');
    expect(failed.batchId).toBeUndefined();
    expect(await staged.exists()).toBe(false);
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
    expect(await landing.getBlobClient('signed/m.csv.gpg').exists()).toBe(true);
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
    await gpg.generateKey('Someone Else <else@example.com>', 'future-default', 'default', '1y');
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
      expect(await landing.getBlobClient(`incoming/${name}`).exists(), name).toBe(true);
      // The plaintext staged while decrypting is gone too.
      expect(await stagedObject(run).exists(), name).toBe(false);
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

  it('ignores files outside any flow and in containers that are no landing zone', async () => {
    await landing.getBlockBlobClient('elsewhere/x.csv.gpg').uploadData(await gpg.encrypt(CSV, 'ingestion key'));
    const stray = BlobServiceClient.fromConnectionString(stack.landing.connectionString).getContainerClient('dlz-not-a-zone');
    await stray.createIfNotExists();
    await stray.getBlockBlobClient('incoming/x.csv.gpg').uploadData(CSV);
    await runtime.waitForLine((e) => typeof e.message === 'string' && e.message.includes('"reason":"not-a-landing-zone"'));
    await runtime.waitForLine((e) => typeof e.message === 'string' && e.message.includes('"reason":"no-matching-flow"'));
  });
});
