import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BlobServiceClient, ContainerSASPermissions, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AZURE_BLOB_CONNECTION_SPEC, SFTP_CONNECTION_SPEC } from '../../shared/sources/connection-auth.js';
import { ApiClient, waitForRun, type Run } from '../support/api-client.js';
import { ensureGpg, GpgHome } from '../support/gpg.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { startSftpServer, type SftpServer } from '../support/sftp-server.js';

const ORG = 'CF0019AAAA@AdobeOrg';
/** The folder of the SFTP server that belongs to its user (the test server serves it at /upload). */
const UPLOAD = 'upload';
const FLOW_SERVICE = '/data/foundation/flowservice';

/**
 * Cloud storage sources end to end through the runtime: gpg-encrypted files on a real OpenSSH
 * server (password and key login) and in a customer's own Azurite container (reached only
 * through its SAS) are ingested on the flow's schedule and exported byte-identical; a
 * re-uploaded file is taken again, an unchanged one never twice; a source that cannot be read
 * records the scheduled run with its code.
 */
describe('cloud storage sources', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let api: ApiClient;
  let gpg: GpgHome;
  let sftp: SftpServer;
  let customer: ContainerClient;
  let publicKeyId: string;
  let targetId: string;

  beforeAll(async () => {
    ensureGpg();
    stack = await startLocalStack();
    sftp = await startSftpServer();
    runtime = await startRuntime({ ...stack.env, CIPHERFLOW_QUEUE_MAX_POLL_MS: '200', FLOW_SCHEDULE_SCHEDULE: '*/1 * * * * *' });
    api = new ApiClient(runtime.url, ORG);
    gpg = await GpgHome.create();
    const created = await api.json<{ publicKey: string; publicKeyId: string }>('POST', '/data/foundation/connectors/encryption/keys', {
      name: 'sources key',
      encryptionAlgorithm: 'PGP',
      params: { passPhrase: 'a passphrase the customer chose' },
    });
    publicKeyId = created.publicKeyId;
    await gpg.importKey(Buffer.from(created.publicKey, 'base64').toString('utf8'));
    const [dataSetRef] = await api.json<string[]>('POST', '/data/foundation/catalog/dataSets', { name: 'from sources' });
    const target = await api.json<{ id: string }>('POST', `${FLOW_SERVICE}/targetConnections`, { name: 'to dataset', params: { dataSetId: dataSetRef?.split('/')[2] ?? '' } });
    targetId = target.id;
    customer = BlobServiceClient.fromConnectionString(stack.azurite.connectionString).getContainerClient('customer-exports');
    await customer.createIfNotExists();
  }, 180_000);

  afterAll(async () => {
    await runtime?.stop();
    await sftp?.stop();
    await stack?.stop();
    await gpg?.dispose();
  });

  const csv = (rows: number) => Buffer.from(['id,name', ...Array.from({ length: rows }, (_, i) => `${i},row ${i} ${randomBytes(4).toString('hex')}`)].join('\n') + '\n');
  const encrypt = (data: Buffer) => gpg.encrypt(data, 'sources key');

  /** Writes a file into the SFTP server's folder as the customer's account owns it. */
  async function putSftp(relative: string, data: Buffer): Promise<void> {
    const folder = join(sftp.root, UPLOAD);
    const { uid, gid } = await stat(folder);
    const path = join(folder, relative);
    for (let dir = join(path, '..'); dir.length > folder.length; dir = join(dir, '..')) {
      await mkdir(dir, { recursive: true });
      await chown(dir, uid, gid);
    }
    await writeFile(path, data);
    await chmod(path, 0o644);
    await chown(path, uid, gid);
  }

  async function connection(body: object, expected = [201]): Promise<{ id: string }> {
    return api.json<{ id: string }>('POST', `${FLOW_SERVICE}/connections`, body, expected);
  }

  async function problem(method: string, path: string, body: unknown): Promise<{ status: number; code?: string; errors?: { field: string }[]; detail?: string }> {
    const res = await api.request(method, path, body);
    expect(res.headers.get('content-type') ?? '').toMatch(/^application\/problem\+json/);
    return (await res.json()) as { status: number; code?: string };
  }

  const sftpPassword = (extra: object = {}) => ({
    name: 'customer sftp',
    auth: {
      specName: 'Basic Authentication for sftp',
      params: { host: sftp.host, port: String(sftp.port), userName: sftp.userName, password: sftp.password, folderPath: `/${UPLOAD}`, ...extra },
    },
    connectionSpec: { id: SFTP_CONNECTION_SPEC, version: '1.0' },
  });

  async function scheduledFlow(baseConnectionId: string, path: string, recursive = false): Promise<string> {
    const source = await api.json<{ id: string }>('POST', `${FLOW_SERVICE}/sourceConnections`, {
      name: `source ${path}`,
      baseConnectionId,
      data: { format: 'delimited' },
      params: { path, recursive: String(recursive) },
    });
    const flow = await api.json<{ id: string }>('POST', `${FLOW_SERVICE}/flows`, {
      name: `flow ${path}`,
      sourceConnectionIds: [source.id],
      targetConnectionIds: [targetId],
      transformations: [{ name: 'Encryption', params: { publicKeyId } }],
      scheduleParams: { startTime: String(Math.floor(Date.now() / 1000)), frequency: 'minute', interval: '1' },
    });
    return flow.id;
  }

  async function exported(run: Run): Promise<Buffer> {
    expect(run.status, JSON.stringify(run.errors)).toBe('success');
    const files = await api.json<{ data: { dataSetFileId: string }[] }>('GET', `/data/foundation/export/batches/${run.batchId ?? ''}/files`);
    const res = await api.request('GET', `/data/foundation/export/files/${files.data[0]?.dataSetFileId ?? ''}`);
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  }

  async function runsOf(flowId: string): Promise<Run[]> {
    return (await api.json<{ items: Run[] }>('GET', `${FLOW_SERVICE}/runs?property=flowId==${flowId}`)).items;
  }

  it('creates an SFTP connection with a password, pins the host key it saw, and never shows the password', async () => {
    const { id } = await connection(sftpPassword());
    const { items } = await api.json<{ items: { auth: { specName: string; params: Record<string, unknown> } }[] }>('GET', `${FLOW_SERVICE}/connections/${id}`);
    expect(items[0]?.auth).toEqual({
      specName: 'Basic Authentication for sftp',
      params: { host: sftp.host, port: sftp.port, userName: sftp.userName, folderPath: `/${UPLOAD}`, hostKeyFingerprint: sftp.hostKeyFingerprint },
    });
    const listed = await api.request('GET', `${FLOW_SERVICE}/connections`);
    expect(await listed.text()).not.toContain(sftp.password);
  });

  it('explores the SFTP folder in Adobe shape, a page at a time', async () => {
    const { id } = await connection(sftpPassword());
    for (let i = 0; i < 5; i++) await putSftp(`explore/f${i}.csv.gpg`, Buffer.from('x'));
    const root = await api.json<{ type: string; name: string; path: string }[]>('GET', `${FLOW_SERVICE}/connections/${id}/explore?objectType=root`);
    expect(root).toContainEqual(expect.objectContaining({ type: 'folder', name: 'explore', path: '/explore' }));
    const first = await api.request('GET', `${FLOW_SERVICE}/connections/${id}/explore?objectType=folder&object=/explore&limit=3`);
    const token = first.headers.get('x-continuation-token') ?? '';
    expect(((await first.json()) as unknown[]).length).toBe(3);
    const rest = await api.json<{ name: string }[]>('GET', `${FLOW_SERVICE}/connections/${id}/explore?objectType=folder&object=/explore&limit=3&start=${encodeURIComponent(token)}`);
    expect(rest.length).toBe(2);
    expect(await problem('GET', `${FLOW_SERVICE}/connections/${id}/explore?objectType=folder&object=/../etc`, undefined)).toMatchObject({ status: 400, code: 'INVALID_REQUEST' });
  });

  it('refuses a wrong password, a closed port and a changed host key with stable codes', async () => {
    expect(await problem('POST', `${FLOW_SERVICE}/connections`, sftpPassword({ password: 'wrong' }))).toMatchObject({ status: 422, code: 'SOURCE_AUTH_FAILED' });
    expect(await problem('POST', `${FLOW_SERVICE}/connections`, sftpPassword({ port: '1' }))).toMatchObject({ status: 502, code: 'SOURCE_UNREACHABLE' });
    const other = `SHA256:${Buffer.alloc(32, 7).toString('base64').replace(/=+$/, '')}`;
    expect(await problem('POST', `${FLOW_SERVICE}/connections`, sftpPassword({ hostKeyFingerprint: other }))).toMatchObject({ status: 422, code: 'SOURCE_HOST_KEY_MISMATCH' });
  });

  it('ingests gpg files from SFTP on schedule, byte-identical; a re-upload again, an unchanged file never twice', async () => {
    const { id } = await connection(sftpPassword());
    const first = csv(50);
    await putSftp('daily/customers.csv.gpg', await encrypt(first));
    const flowId = await scheduledFlow(id, '/daily/*.csv.gpg');
    const run = await waitForRun(api, flowId, 'daily/customers.csv.gpg', { timeoutMs: 90_000 });
    expect(await exported(run)).toEqual(first);

    // Re-uploaded with new content: a new version, a new run (SFTP versions are mtime+size; mtime has 1 s resolution).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = csv(60);
    await putSftp('daily/customers.csv.gpg', await encrypt(second));
    const deadline = Date.now() + 90_000;
    let runs: Run[] = [];
    while (Date.now() < deadline) {
      runs = (await runsOf(flowId)).filter((r) => r.status === 'success');
      if (runs.length >= 2) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(runs).toHaveLength(2);
    const newest = runs.find((r) => r.id !== run.id);
    if (newest === undefined) throw new Error('no second run');
    expect(await exported(newest)).toEqual(second);
  }, 200_000);

  it('ingests from SFTP with key login and recursive folders', async () => {
    const { id } = await connection({
      name: 'customer sftp key',
      auth: {
        specName: 'SSH PublicKey Authentication for sftp',
        params: {
          host: sftp.host,
          port: sftp.port,
          userName: sftp.userName,
          privateKeyContent: Buffer.from(sftp.encryptedPrivateKey).toString('base64'),
          passPhrase: sftp.passphrase,
          folderPath: UPLOAD,
          hostKeyFingerprint: sftp.hostKeyFingerprint,
        },
      },
      connectionSpec: { id: SFTP_CONNECTION_SPEC, version: '1.0' },
    });
    const data = csv(10);
    await putSftp('tree/2026/12/part.csv.gpg', await encrypt(data));
    const flowId = await scheduledFlow(id, '/tree', true);
    const run = await waitForRun(api, flowId, 'tree/2026/12/part.csv.gpg', { timeoutMs: 90_000 });
    expect(await exported(run)).toEqual(data);
  }, 150_000);

  it('ingests from a customer Azure Blob container reached only through its SAS', async () => {
    const sasUri = await customer.generateSasUrl({ permissions: ContainerSASPermissions.parse('rl'), expiresOn: new Date(Date.now() + 3_600_000) });
    const { id } = await connection({
      name: 'customer blob',
      auth: { specName: 'SAS URI Authentication', params: { sasUri } },
      connectionSpec: { id: AZURE_BLOB_CONNECTION_SPEC, version: '1.0' },
    });
    const data = csv(30);
    await customer.getBlockBlobClient('exports/orders.csv.gpg').uploadData(await encrypt(data));
    const flowId = await scheduledFlow(id, '/exports/*.csv.gpg');
    const run = await waitForRun(api, flowId, 'exports/orders.csv.gpg', { timeoutMs: 90_000 });
    expect(await exported(run)).toEqual(data);

    const writeOnly = await customer.generateSasUrl({ permissions: ContainerSASPermissions.parse('r'), expiresOn: new Date(Date.now() + 3_600_000) });
    const refused = await problem('POST', `${FLOW_SERVICE}/connections`, {
      name: 'no list',
      auth: { specName: 'SAS URI Authentication', params: { sasUri: writeOnly } },
      connectionSpec: { id: AZURE_BLOB_CONNECTION_SPEC, version: '1.0' },
    });
    expect(refused).toMatchObject({ status: 400, code: 'INVALID_REQUEST' });
    expect(JSON.stringify(refused)).not.toContain('sig=');
  }, 150_000);

  it('refuses to delete a connection a flow uses, and deletes it once the flow is gone', async () => {
    const { id } = await connection(sftpPassword());
    const flowId = await scheduledFlow(id, '/nothing-here/*.csv.gpg');
    expect(await problem('DELETE', `${FLOW_SERVICE}/connections/${id}`, undefined)).toMatchObject({ status: 409, code: 'CONNECTION_IN_USE' });
    expect((await api.request('DELETE', `${FLOW_SERVICE}/flows/${flowId}`)).status).toBe(204);
    expect((await api.request('DELETE', `${FLOW_SERVICE}/connections/${id}`)).status).toBe(204);
    expect((await api.request('GET', `${FLOW_SERVICE}/connections/${id}`)).status).toBe(404);
  });

  it('records a scheduled run that cannot list its source with its code, and retries on the next schedule', async () => {
    const { id } = await connection(sftpPassword());
    const flowId = await scheduledFlow(id, '/missing-folder/*.csv.gpg');
    const deadline = Date.now() + 60_000;
    let failed: Run | undefined;
    while (failed === undefined && Date.now() < deadline) {
      failed = (await runsOf(flowId)).find((r) => r.status === 'failed');
      if (failed === undefined) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(failed?.errors[0]?.code).toBe('SOURCE_PATH_NOT_FOUND');
    const data = csv(5);
    await putSftp('missing-folder/late.csv.gpg', await encrypt(data));
    const run = await waitForRun(api, flowId, 'missing-folder/late.csv.gpg', { timeoutMs: 150_000 });
    expect(await exported(run)).toEqual(data);
  }, 220_000);
});
