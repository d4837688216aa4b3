import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient, ContainerSASPermissions, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/exit-codes.js';
import { ensureGpg, GpgHome } from '../support/gpg.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { startSftpServer, type SftpServer } from '../support/sftp-server.js';
import { jsonOf, runCli, type CliResult } from './run-cli.js';

const ORG = 'CF1901CONNCLI@AdobeOrg';
const CSV = Buffer.from('id,name\n1,Ada\n2,Grace\n3,Edsger\n');
/** The folder of the SFTP server that belongs to its user (the test server serves it at /upload). */
const UPLOAD = 'upload';

interface Connection {
  id: string;
  name: string;
  auth: { specName: string; params: Record<string, string | number> };
}

interface Run {
  status: string;
  fileName: string;
  errors: { code: string }[];
  metrics: { recordCount?: number };
  batchId?: string;
}

/**
 * `cipherflow connections` and `flows create --connection` as a subprocess against the local
 * runtime, a real OpenSSH server and a customer's own Azurite container: secrets only from stdin
 * or a file, the host key printed and pinned, explore paged, a scheduled flow ingesting a gpg
 * file from SFTP, and the codes of what is refused.
 */
describe('cipherflow connections', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let sftp: SftpServer;
  let gpg: GpgHome;
  let customer: ContainerClient;
  let dir: string;
  let env: Record<string, string>;
  let keyId: string;
  let connectionId: string;
  let flowId: string;

  const cli = (...args: string[]): Promise<CliResult> => runCli(args, env, { cwd: dir });
  const withStdin = (stdin: string, ...args: string[]): Promise<CliResult> => runCli(args, env, { cwd: dir, stdin });
  const sftpFlags = () => ['--sftp', '--host', sftp.host, '--port', String(sftp.port), '--user', sftp.userName];

  /** Writes a file into the SFTP server's folder as the customer's account owns it. */
  async function putSftp(relative: string, data: Buffer): Promise<void> {
    const folder = join(sftp.root, UPLOAD);
    const { uid, gid } = await stat(folder);
    const path = join(folder, relative);
    for (let d = join(path, '..'); d.length > folder.length; d = join(d, '..')) {
      await mkdir(d, { recursive: true });
      await chown(d, uid, gid);
    }
    await writeFile(path, data);
    await chmod(path, 0o644);
    await chown(path, uid, gid);
  }

  beforeAll(async () => {
    ensureGpg();
    stack = await startLocalStack();
    sftp = await startSftpServer();
    runtime = await startRuntime({
      ...stack.env,
      CIPHERFLOW_QUEUE_MAX_POLL_MS: '200',
      FLOW_SCHEDULE_SCHEDULE: '*/1 * * * * *',
    });
    gpg = await GpgHome.create();
    dir = await mkdtemp(join(tmpdir(), 'cipherflow-connections-cli-'));
    env = { CIPHERFLOW_CONFIG: join(dir, 'config.json') };
    customer = BlobServiceClient.fromConnectionString(stack.azurite.connectionString).getContainerClient(
      'customer-drop',
    );
    await customer.createIfNotExists();
    expect((await cli('login', '--org', ORG, '--base-url', runtime.url)).code).toBe(0);
    keyId = jsonOf<{ publicKeyId: string }>(
      await cli('--json', 'keys', 'create', '--name', 'connections cli', '--out', 'ours.asc'),
    ).publicKeyId;
    await gpg.importKey(await readFile(join(dir, 'ours.asc'), 'utf8'));
  }, 180_000);

  afterAll(async () => {
    await runtime?.stop();
    await sftp?.stop();
    await stack?.stop();
    await gpg?.dispose();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('creates an SFTP connection with the password from stdin, printing the host key it pinned, never the password', async () => {
    const created = await withStdin(
      `${sftp.password}\n`,
      'connections',
      'create',
      ...sftpFlags(),
      '--password-stdin',
      '--folder',
      `/${UPLOAD}`,
    );
    expect(created.code, created.stderr).toBe(0);
    const id = /^created connection ([0-9a-f-]+) \(SFTP, /m.exec(created.stdout)?.[1];
    expect(id).toBeDefined();
    connectionId = id ?? '';
    expect(created.stdout).toContain(`(SFTP, ${sftp.userName}@${sftp.host}:${sftp.port}/${UPLOAD})`);
    expect(created.stdout).toContain(`host key: ${sftp.hostKeyFingerprint} (recorded now`);
    expect(created.stdout + created.stderr).not.toContain(sftp.password);

    const shown = jsonOf<Connection>(await cli('--json', 'connections', 'show', connectionId));
    expect(shown.auth).toEqual({
      specName: 'Basic Authentication for sftp',
      params: {
        host: sftp.host,
        port: sftp.port,
        userName: sftp.userName,
        folderPath: `/${UPLOAD}`,
        hostKeyFingerprint: sftp.hostKeyFingerprint,
      },
    });
    const listed = await cli('connections', 'list');
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(
      new RegExp(`^${connectionId}  SFTP +${sftp.userName}@127\\.0\\.0\\.1:${sftp.port}/upload  sftp `, 'm'),
    );
    expect(listed.stdout).not.toContain(sftp.password);
  });

  it('refuses a wrong password and a changed host key with their codes, an empty stdin and a password flag with exit 2', async () => {
    const wrong = await withStdin('not the password', 'connections', 'create', ...sftpFlags(), '--password-stdin');
    expect(wrong.code).toBe(EXIT.ERROR);
    expect(wrong.stderr).toContain('(SOURCE_AUTH_FAILED, HTTP 422)');
    const other = `SHA256:${Buffer.alloc(32, 7).toString('base64').replace(/=+$/, '')}`;
    const mismatch = await withStdin(
      sftp.password,
      'connections',
      'create',
      ...sftpFlags(),
      '--password-stdin',
      '--host-key-fingerprint',
      other,
    );
    expect(mismatch.code).toBe(EXIT.ERROR);
    expect(mismatch.stderr).toContain('(SOURCE_HOST_KEY_MISMATCH, HTTP 422)');
    const empty = await withStdin('', 'connections', 'create', ...sftpFlags(), '--password-stdin');
    expect(empty.code).toBe(EXIT.USAGE);
    expect(empty.stderr).toContain('--password-stdin: nothing on stdin');
    const unknownFlag = await cli('connections', 'create', ...sftpFlags(), '--password', 'x');
    expect(unknownFlag.code).toBe(EXIT.USAGE);
  });

  it('creates an SFTP connection with a key file and its passphrase from stdin, pinned to the given host key', async () => {
    await writeFile(join(dir, 'id_ed25519'), sftp.encryptedPrivateKey, { mode: 0o600 });
    const created = await withStdin(
      sftp.passphrase,
      '--json',
      'connections',
      'create',
      ...sftpFlags(),
      '--key',
      'id_ed25519',
      '--passphrase-stdin',
      '--host-key-fingerprint',
      sftp.hostKeyFingerprint,
      '--name',
      'key login',
    );
    const connection = jsonOf<Connection>(created);
    expect(connection).toMatchObject({
      name: 'key login',
      auth: {
        specName: 'SSH PublicKey Authentication for sftp',
        params: { hostKeyFingerprint: sftp.hostKeyFingerprint },
      },
    });
    expect(created.stdout).not.toContain('PRIVATE KEY');
    expect(created.stdout).not.toContain(sftp.passphrase);
    expect((await cli('connections', 'delete', connection.id)).code).toBe(0);
  });

  it('explores the root and a folder, a page at a time or every page with --all', async () => {
    for (const name of ['a', 'b', 'c']) await putSftp(`explore/${name}.csv.gpg`, Buffer.from('x'));
    const root = await cli('connections', 'explore', connectionId);
    expect(root.code, root.stderr).toBe(0);
    expect(root.stdout).toMatch(/^folder +\/explore$/m);
    const page = await cli('connections', 'explore', connectionId, '/explore', '--limit', '2');
    expect(page.code, page.stderr).toBe(0);
    expect(page.stdout.trim().split('\n')).toHaveLength(2);
    expect(page.stderr).toContain('more items: --all lists every page');
    const all = jsonOf<{ type: string; path: string }[]>(
      await cli('--json', 'connections', 'explore', connectionId, 'explore', '--limit', '2', '--all'),
    );
    expect(all.map((i) => i.path).sort()).toEqual(['/explore/a.csv.gpg', '/explore/b.csv.gpg', '/explore/c.csv.gpg']);
    const missing = await cli('connections', 'explore', connectionId, '/no-such-folder');
    expect(missing.code).toBe(EXIT.ERROR);
    expect(missing.stderr).toContain('(SOURCE_PATH_NOT_FOUND, HTTP 404)');
  });

  it('creates a scheduled flow with --connection that ingests a gpg file from the server, exported byte-identical', async () => {
    await putSftp('daily/customers.csv.gpg', await gpg.encrypt(CSV, 'connections cli'));
    const usage = await cli(
      'flows',
      'create',
      '--name',
      'x',
      '--path',
      '/daily/*.csv.gpg',
      '--dataset',
      'x',
      '--key',
      keyId,
      '--connection',
      connectionId,
    );
    expect(usage.code).toBe(EXIT.USAGE);
    expect(usage.stderr).toContain('--connection needs --schedule');

    const created = await cli(
      '--json',
      'flows',
      'create',
      '--name',
      'from sftp',
      '--path',
      '/daily/*.csv.gpg',
      '--dataset',
      'from sftp',
      '--key',
      keyId,
      '--connection',
      connectionId,
      '--schedule',
      'minute:1',
    );
    const flow = jsonOf<{ id: string; baseConnectionId: string; scheduleParams: object }>(created);
    flowId = flow.id;
    expect(flow).toMatchObject({
      baseConnectionId: connectionId,
      scheduleParams: { frequency: 'minute', interval: 1 },
    });

    const runs = jsonOf<Run[]>(
      await cli(
        '--json',
        'runs',
        '--flow',
        flowId,
        '--file',
        'daily/customers.csv.gpg',
        '--watch',
        '--interval',
        '0.5',
        '--timeout',
        '90',
      ),
    );
    expect(runs[0]).toMatchObject({
      status: 'success',
      fileName: 'daily/customers.csv.gpg',
      metrics: { recordCount: 3 },
    });
    const files = jsonOf<{ data: { dataSetFileId: string }[] }>(
      await cli('call', 'GET', `/data/foundation/export/batches/${runs[0]?.batchId ?? ''}/files`),
    );
    const exported = await cli('export', files.data[0]?.dataSetFileId ?? '', '--out', 'exported.csv');
    expect(exported.code, exported.stderr).toBe(0);
    expect(await readFile(join(dir, 'exported.csv'))).toEqual(CSV);
  }, 150_000);

  it('refuses to delete a connection a flow uses (CONNECTION_IN_USE), and deletes it once the flow is gone', async () => {
    const inUse = await cli('connections', 'delete', connectionId);
    expect(inUse.code).toBe(EXIT.ERROR);
    expect(inUse.stderr).toContain('(CONNECTION_IN_USE, HTTP 409)');
    expect(inUse.stderr).toContain(flowId);
    expect((await cli('flows', 'delete', flowId)).code).toBe(0);
    const deleted = await cli('connections', 'delete', connectionId);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout.trim()).toBe(`deleted connection ${connectionId}`);
    const gone = await cli('connections', 'show', connectionId);
    expect(gone.code).toBe(EXIT.ERROR);
    expect(gone.stderr).toContain('NOT_FOUND');
  });

  it('creates an Azure Blob connection from a SAS URI and explores the container, never printing the SAS', async () => {
    await customer.getBlockBlobClient('exports/orders.csv.gpg').uploadData(Buffer.from('x'));
    const sasUri = await customer.generateSasUrl({
      permissions: ContainerSASPermissions.parse('rl'),
      expiresOn: new Date(Date.now() + 3_600_000),
    });
    const created = await cli('connections', 'create', '--azure-blob', '--sas-uri', sasUri, '--name', 'customer blob');
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^created connection [0-9a-f-]+ \(Azure Blob, /m);
    expect(created.stdout).not.toContain('sig=');
    const id = /^created connection ([0-9a-f-]+)/m.exec(created.stdout)?.[1] ?? '';
    const explored = await cli('connections', 'explore', id, '/exports');
    expect(explored.code, explored.stderr).toBe(0);
    expect(explored.stdout.trim()).toBe('file   /exports/orders.csv.gpg');
    const listed = await cli('--json', 'connections', 'list');
    expect(listed.stdout).toContain('customer blob');
    expect(listed.stdout).not.toContain('sig=');

    const readOnly = await customer.generateSasUrl({
      permissions: ContainerSASPermissions.parse('r'),
      expiresOn: new Date(Date.now() + 3_600_000),
    });
    const refused = await cli('connections', 'create', '--azure-blob', '--sas-uri', readOnly);
    expect(refused.code).toBe(EXIT.ERROR);
    expect(refused.stderr).toContain('(INVALID_REQUEST, HTTP 400)');
    expect(refused.stderr).not.toContain('sig=');
  });
});
