import { randomBytes } from 'node:crypto';
import { appendFile, chmod, chown, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { landingIngestionDeps } from '../../shared/app/ingestion-deps.js';
import { appServices } from '../../shared/app/root.js';
import type { AppServices } from '../../shared/app/services.js';
import type { BaseConnectionDeps } from '../../shared/flows/base-connections.js';
import { ingestSourceFile } from '../../shared/ingestion/ingest-source-file.js';
import { scanSource } from '../../shared/ingestion/scan-source.js';
import { SCAN_JOB, type FileJob, type SourceJob } from '../../shared/ingestion/source-jobs.js';
import { SFTP_CONNECTION_SPEC } from '../../shared/sources/connection-auth.js';
import type { SourceFile, SourceReader } from '../../shared/sources/source-reader.js';
import { ApiClient, type Run } from '../support/api-client.js';
import { ensureGpg, GpgHome } from '../support/gpg.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { startSftpServer, type SftpServer } from '../support/sftp-server.js';

const ORG = 'CF0019GR0W@AdobeOrg';
const SANDBOX = 'prod';
const FLOW_SERVICE = '/data/foundation/flowservice';
/** Never due: the runtime's scheduler leaves the flow alone, and the test runs each scheduled run itself. */
const NEVER = String(Date.UTC(2100, 0, 1) / 1000);
const log = (): void => undefined;

/**
 * A file on the customer's SFTP server that grows while it is read (an upload still being written
 * when the scheduled run lists it): the run of the version that was listed fails with
 * SOURCE_FILE_CHANGED, not with a decryption code for the truncated message it read, nothing is
 * committed, and the next scheduled run takes the complete new version. A file deleted after it
 * was listed fails its run with SOURCE_PATH_NOT_FOUND at once, rather than being retried.
 *
 * Deterministic: the real SFTP reader on a real OpenSSH server, through the real decrypt pipeline
 * and services (Azurite, the Key Vault emulator); the connection's reader is wrapped only so that
 * the rest of the file is appended right after the version was opened and checked, before a byte is
 * read. The scheduled runs are the domain's own `scanSource`, each with the next tick, with an
 * `enqueue` that keeps the jobs (the runtime serves the API only: the flow is scheduled for 2100).
 */
describe('a source file that grows, or goes, after it was listed', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let sftp: SftpServer;
  let gpg: GpgHome;
  let api: ApiClient;
  let services: AppServices;
  let connectionId: string;
  let publicKeyId: string;
  let targetId: string;

  beforeAll(async () => {
    ensureGpg();
    stack = await startLocalStack();
    sftp = await startSftpServer();
    runtime = await startRuntime({ ...stack.env });
    api = new ApiClient(runtime.url, ORG);
    gpg = await GpgHome.create();
    const key = await api.json<{ publicKey: string; publicKeyId: string }>('POST', '/data/foundation/connectors/encryption/keys', {
      name: 'growing key',
      encryptionAlgorithm: 'PGP',
      params: { passPhrase: 'a passphrase the customer chose' },
    });
    publicKeyId = key.publicKeyId;
    await gpg.importKey(Buffer.from(key.publicKey, 'base64').toString('utf8'));
    const [dataSetRef] = await api.json<string[]>('POST', '/data/foundation/catalog/dataSets', { name: 'growing' });
    targetId = (await api.json<{ id: string }>('POST', `${FLOW_SERVICE}/targetConnections`, { name: 't', params: { dataSetId: dataSetRef?.split('/')[2] ?? '' } })).id;
    connectionId = (await api.json<{ id: string }>('POST', `${FLOW_SERVICE}/connections`, {
      name: 'customer sftp',
      auth: {
        specName: 'Basic Authentication for sftp',
        params: { host: sftp.host, port: String(sftp.port), userName: sftp.userName, password: sftp.password, folderPath: '/upload' },
      },
      connectionSpec: { id: SFTP_CONNECTION_SPEC, version: '1.0' },
    })).id;
    Object.assign(process.env, stack.env);
    services = await appServices();
  }, 180_000);

  afterAll(async () => {
    await runtime?.stop();
    await sftp?.stop();
    await stack?.stop();
    await gpg?.dispose();
  });

  /** Writes (or appends to) a file in the SFTP user's folder, owned by the user as an upload would be. */
  async function putSftp(relative: string, data: Buffer, append = false): Promise<string> {
    const folder = join(sftp.root, 'upload');
    const { uid, gid } = await stat(folder);
    const path = join(folder, relative);
    await mkdir(join(path, '..'), { recursive: true });
    await chown(join(path, '..'), uid, gid);
    if (append) await appendFile(path, data);
    else await writeFile(path, data);
    await chmod(path, 0o644);
    await chown(path, uid, gid);
    return path;
  }

  async function scheduledFlow(path: string): Promise<string> {
    const source = await api.json<{ id: string }>('POST', `${FLOW_SERVICE}/sourceConnections`, {
      name: `source ${path}`, baseConnectionId: connectionId, data: { format: 'delimited' }, params: { path },
    });
    return (await api.json<{ id: string }>('POST', `${FLOW_SERVICE}/flows`, {
      name: `flow ${path}`,
      sourceConnectionIds: [source.id],
      targetConnectionIds: [targetId],
      transformations: [{ name: 'Encryption', params: { publicKeyId } }],
      scheduleParams: { startTime: NEVER, frequency: 'minute', interval: '1' },
    })).id;
  }

  /** One scheduled run of the flow (its `tick`): the file jobs it enqueued. */
  async function scheduledRun(flowId: string, tick: number): Promise<FileJob[]> {
    const jobs: SourceJob[] = [];
    const enqueue = (job: SourceJob): Promise<void> => {
      jobs.push(job);
      return Promise.resolve();
    };
    const outcome = await scanSource({ connections: services.sources.connections, enqueue, clock: services.clock, log }, { kind: SCAN_JOB, orgId: ORG, sandbox: SANDBOX, flowId, tick });
    expect(outcome).toMatchObject({ kind: 'listed' });
    return jobs.flatMap((j) => (j.kind === SCAN_JOB ? [] : [j]));
  }

  /** The app's connections, whose readers run `afterOpen` once a file version is opened (and checked), before it is read. */
  function connectionsWith(afterOpen: (file: SourceFile) => Promise<void>): BaseConnectionDeps {
    const real = services.sources.connections;
    return {
      ...real,
      openSource: (auth, hostKey) => {
        const reader = real.openSource(auth, hostKey);
        const wrapped: SourceReader = {
          listFolder: (folder, page) => reader.listFolder(folder, page),
          walk: (folder, options) => reader.walk(folder, options),
          stat: (path) => reader.stat(path),
          open: async (file) => {
            const stream = await reader.open(file);
            await afterOpen(file);
            return stream;
          },
          close: () => reader.close(),
        };
        return wrapped;
      },
    };
  }

  async function runsOf(flowId: string): Promise<Run[]> {
    return (await api.json<{ items: Run[] }>('GET', `${FLOW_SERVICE}/runs?property=flowId==${flowId}`)).items;
  }

  async function exported(run: Run): Promise<Buffer> {
    const files = await api.json<{ data: { dataSetFileId: string }[] }>('GET', `/data/foundation/export/batches/${run.batchId ?? ''}/files`);
    const res = await api.request('GET', `/data/foundation/export/files/${files.data[0]?.dataSetFileId ?? ''}`);
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  }

  const csv = (rows: number) =>
    Buffer.from(['id,name', ...Array.from({ length: rows }, (_, i) => `${i},row ${i} ${randomBytes(8).toString('hex')}`)].join('\n') + '\n');

  it('fails the run of the listed version with SOURCE_FILE_CHANGED (not a decryption code) and ingests the complete new version at the next run', async () => {
    const plaintext = csv(40_000);
    // Not compressed, so half the message is half the file's bytes and far past its header packets.
    const message = await gpg.encrypt(plaintext, 'growing key', ['--compress-algo', 'none']);
    const half = Math.floor(message.length / 2);
    const local = await putSftp('incoming/growing.csv.gpg', message.subarray(0, half));
    const flowId = await scheduledFlow('/incoming/*.csv.gpg');

    const [listed, ...others] = await scheduledRun(flowId, 1);
    expect(others).toEqual([]);
    expect(listed).toMatchObject({ path: 'incoming/growing.csv.gpg', size: half });
    if (listed === undefined) throw new Error('the first run enqueued nothing');

    // The upload goes on while the run reads: the rest of the message lands right after the open.
    const ingestion = await landingIngestionDeps(services, log);
    let appended = 0;
    const growing = connectionsWith(async () => {
      await putSftp('incoming/growing.csv.gpg', message.subarray(half), true);
      appended++;
    });
    const first = await ingestSourceFile(ingestion, growing, listed);
    expect(appended).toBe(1);
    expect(first).toMatchObject({ kind: 'done', run: { status: 'failed', skipped: false } });
    const [failed] = await runsOf(flowId);
    expect(failed).toMatchObject({ fileName: 'incoming/growing.csv.gpg', blobETag: listed.version, status: 'failed' });
    expect(failed?.errors.map((e) => e.code)).toEqual(['SOURCE_FILE_CHANGED']);
    expect(failed?.batchId).toBeUndefined();

    // The same job delivered again finds its run finished and reads nothing.
    expect(await ingestSourceFile(ingestion, growing, listed)).toMatchObject({ kind: 'done', run: { status: 'failed', skipped: true } });
    expect(appended).toBe(1);

    // The next scheduled run lists the complete file: a new version, taken once, ingested whole.
    expect((await stat(local)).size).toBe(message.length);
    const [complete, ...more] = await scheduledRun(flowId, 2);
    expect(more).toEqual([]);
    expect(complete).toMatchObject({ path: 'incoming/growing.csv.gpg', size: message.length });
    if (complete === undefined) throw new Error('the next run enqueued nothing');
    expect(complete.version).not.toBe(listed.version);
    expect(await ingestSourceFile(ingestion, services.sources.connections, complete)).toMatchObject({ kind: 'done', run: { status: 'success' } });
    const runs = await runsOf(flowId);
    expect(runs.map((r) => [r.blobETag, r.status]).sort()).toEqual([[listed.version, 'failed'], [complete.version, 'success']].sort());
    const done = runs.find((r) => r.status === 'success');
    if (done === undefined) throw new Error('no successful run');
    expect(done.metrics.outputBytes).toBe(plaintext.length);
    expect(await exported(done)).toEqual(plaintext);

    // And the run after that finds nothing new.
    expect(await scheduledRun(flowId, 3)).toEqual([]);
  });

  it('fails with SOURCE_FILE_CHANGED when a complete file is appended to while it is read', async () => {
    const plaintext = csv(20_000);
    const message = await gpg.encrypt(plaintext, 'growing key', ['--compress-algo', 'none']);
    await putSftp('appended/whole.csv.gpg', message);
    const flowId = await scheduledFlow('/appended/*.csv.gpg');
    const [listed] = await scheduledRun(flowId, 1);
    if (listed === undefined) throw new Error('the run enqueued nothing');
    const ingestion = await landingIngestionDeps(services, log);
    const growing = connectionsWith(async () => {
      await putSftp('appended/whole.csv.gpg', Buffer.from('a second upload appended to the first\n'), true);
    });
    expect(await ingestSourceFile(ingestion, growing, listed)).toMatchObject({ kind: 'done', run: { status: 'failed' } });
    const [failed] = await runsOf(flowId);
    expect(failed?.errors.map((e) => e.code)).toEqual(['SOURCE_FILE_CHANGED']);
    expect(failed?.batchId).toBeUndefined();
  });

  it('fails the run of a file deleted after it was listed with SOURCE_PATH_NOT_FOUND at the first attempt', async () => {
    const message = await gpg.encrypt(csv(10), 'growing key');
    const local = await putSftp('deleted/gone.csv.gpg', message);
    const flowId = await scheduledFlow('/deleted/*.csv.gpg');
    const [listed] = await scheduledRun(flowId, 1);
    if (listed === undefined) throw new Error('the run enqueued nothing');
    await rm(local);
    const ingestion = await landingIngestionDeps(services, log);
    // Final, not transient: retrying cannot bring the file back (and the run would end, after the
    // queue's five deliveries, as RETRIES_EXHAUSTED "because of a fault on our side").
    expect(await ingestSourceFile(ingestion, services.sources.connections, listed)).toMatchObject({ kind: 'done', run: { status: 'failed' } });
    const [failed] = await runsOf(flowId);
    expect(failed?.errors.map((e) => e.code)).toEqual(['SOURCE_PATH_NOT_FOUND']);
    expect(failed?.batchId).toBeUndefined();
  });
});
