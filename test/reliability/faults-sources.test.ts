import { randomBytes } from 'node:crypto';
import { chmod, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient, ContainerSASPermissions } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AZURE_BLOB_CONNECTION_SPEC } from '../../shared/sources/connection-auth.js';
import { startSftpServer, type SftpServer } from '../support/sftp-server.js';
import {
  createKey,
  createSourceFlow,
  EVERY_SECOND,
  expectIngestedOnce,
  ONCE_NOW,
  poisoned,
  putSftp,
  scanOutcomes,
  settledFileJobs,
  sftpConnection,
  sourceDeliveries,
} from './faults-sources-support.js';
import { appEvents, clientFor, deliveries, encryptLargeFile, eventsQueueDepth, recordsIn, runsOf, until, useFaultStack, waitForAll } from './faults-support.js';

const ORG = 'CF0019TW1N@AdobeOrg';
const KILL_ORG = 'CF0019K1LL@AdobeOrg';
const FLOW_SERVICE = '/data/foundation/flowservice';
const SFTP_FILES = 30;
const BLOB_FILES = 10;
const LARGE = 96 * 1024 * 1024;
/** How long a received message stays invisible (renewed while it runs): a message a killed runtime held reappears within seconds. */
const VISIBILITY_MS = 6_000;

const csv = (i: number) => Buffer.from(`id,name\n${`${i},row ${i} ${randomBytes(6).toString('hex')}\n`.repeat(1 + (i % 7) * 400)}`);

/**
 * Scheduled dataflows over a customer's SFTP server and Blob container, on two runtime instances
 * against one storage account: the timer (one instance at a time) enqueues one scan per due run,
 * the scan one job per new file version, and both instances take jobs off the one queue. Each
 * file is decrypted and committed exactly once, and a later run of the schedule takes nothing
 * that did not change.
 */
describe('fault: two runtime instances ingest scheduled cloud sources', () => {
  const faults = useFaultStack({ runtimes: 2, env: EVERY_SECOND });
  let sftp: SftpServer;

  beforeAll(async () => {
    sftp = await startSftpServer();
  }, 60_000);
  afterAll(async () => {
    await sftp?.stop();
  });

  it('ingests each of 30 SFTP files exactly once across both instances, and the next scheduled run adds nothing', { timeout: 150_000 }, async () => {
    const { gpg, stack } = faults;
    const [a, b] = [faults.instance(0), faults.instance(1)];
    const api = clientFor(a, ORG);
    const connectionId = await sftpConnection(api, sftp);
    const key = await createKey(api, gpg, 'twins');
    const versions = new Map<string, string>();
    const sizes = new Map<string, number>();
    // One gpg at a time: parallel ones wait on each other's lock of the home's random seed, for seconds.
    for (let i = 0; i < SFTP_FILES; i++) {
      const name = `twins/t${String(i).padStart(2, '0')}.csv.gpg`;
      const plaintext = csv(i);
      sizes.set(name, plaintext.length);
      versions.set(name, await putSftp(sftp, name, await gpg.encrypt(plaintext, key.recipient)));
    }
    // Every minute from 40 s ago: the first run is due at once, the next one 20 s from now.
    const startTime = String(Math.floor(Date.now() / 1000) - 40);
    const flow = await createSourceFlow(api, 'twins', key, connectionId, '/twins/*.csv.gpg', { startTime, frequency: 'minute', interval: '1' });
    const t0 = Date.now();
    await waitForAll(api, flow.flowId, versions, 90_000);
    process.stdout.write(`two instances, SFTP: ${SFTP_FILES} files ingested ${Date.now() - t0} ms after they were in place\n`);
    await expectIngestedOnce(clientFor(b, ORG), flow, versions, sizes);

    // A later run of the schedule lists the folder again and takes nothing.
    const later = await until('a later scheduled run listed', () => {
      const scans = scanOutcomes([a, b], flow.flowId);
      const first = Math.min(...scans.map((s) => Number(s.tick)));
      return Promise.resolve(scans.find((s) => s.kind === 'listed' && Number(s.tick) > first));
    }, 70_000, 500);
    expect(later).toMatchObject({ kind: 'listed', enqueued: 0, retried: 0 });
    // Each run listed once: the first took every file, every later one none.
    const scans = scanOutcomes([a, b], flow.flowId).sort((x, y) => Number(x.tick) - Number(y.tick));
    expect(scans.map((s) => [s.kind, s.enqueued])).toEqual([['listed', SFTP_FILES], ...scans.slice(1).map(() => ['listed', 0])]);
    expect(new Set(scans.map((s) => s.tick)).size).toBe(scans.length);

    // Each file job delivered once, to one instance, and succeeded there; each file decrypted once.
    const jobs = await settledFileJobs([a, b], flow.flowId, SFTP_FILES);
    const [jobsA, jobsB] = [sourceDeliveries(a, flow.flowId, 'source-file-outcome'), sourceDeliveries(b, flow.flowId, 'source-file-outcome')];
    expect(jobs).toHaveLength(SFTP_FILES);
    expect(new Set(jobs.map((d) => d.messageId)).size).toBe(SFTP_FILES);
    expect(jobs.filter((d) => d.dequeueCount !== 1 || d.outcome !== 'Succeeded')).toEqual([]);
    const decrypted = [a, b].flatMap((r) => appEvents(r, 'ingestion-succeeded')).filter((e) => e.flowId === flow.flowId);
    expect(decrypted).toHaveLength(SFTP_FILES);
    expect(new Set(decrypted.map((e) => e.runId)).size).toBe(SFTP_FILES);
    process.stdout.write(`two instances, SFTP: file jobs ${jobsA.length} on instance A + ${jobsB.length} on B; scans ${scans.length}\n`);

    // Nothing left behind: no message held or waiting, none poisoned.
    await until('the queue drained', async () => ((await eventsQueueDepth(stack.azurite.connectionString)) === 0 ? true : undefined), 20_000, 500);
    expect(await poisoned(stack.azurite.connectionString)).toEqual([]);
  });

  it('ingests each of 10 files of a customer Blob container (SAS) exactly once across both instances', { timeout: 90_000 }, async () => {
    const { gpg, stack } = faults;
    const [a, b] = [faults.instance(0), faults.instance(1)];
    const api = clientFor(a, ORG);
    const customer = BlobServiceClient.fromConnectionString(stack.azurite.connectionString).getContainerClient('customer-twins');
    await customer.createIfNotExists();
    const sasUri = await customer.generateSasUrl({ permissions: ContainerSASPermissions.parse('rl'), expiresOn: new Date(Date.now() + 3_600_000) });
    const connection = await api.json<{ id: string }>('POST', `${FLOW_SERVICE}/connections`, {
      name: 'customer blob', auth: { specName: 'SAS URI Authentication', params: { sasUri } }, connectionSpec: { id: AZURE_BLOB_CONNECTION_SPEC, version: '1.0' },
    });
    const key = await createKey(api, gpg, 'blobtwins');
    const versions = new Map<string, string>();
    const sizes = new Map<string, number>();
    for (let i = 0; i < BLOB_FILES; i++) {
      const name = `exports/e${String(i).padStart(2, '0')}.csv.gpg`;
      const plaintext = csv(i);
      sizes.set(name, plaintext.length);
      const uploaded = await customer.getBlockBlobClient(name).uploadData(await gpg.encrypt(plaintext, key.recipient));
      versions.set(name, (uploaded.etag ?? '').replace(/^"(.*)"$/, '$1'));
    }
    const flow = await createSourceFlow(api, 'blobtwins', key, connection.id, '/exports/*.csv.gpg', ONCE_NOW());
    await waitForAll(api, flow.flowId, versions, 60_000);
    await expectIngestedOnce(clientFor(b, ORG), flow, versions, sizes);
    const jobs = await settledFileJobs([a, b], flow.flowId, BLOB_FILES);
    expect(jobs).toHaveLength(BLOB_FILES);
    expect(jobs.filter((d) => d.dequeueCount !== 1 || d.outcome !== 'Succeeded')).toEqual([]);
    const decrypted = [a, b].flatMap((r) => appEvents(r, 'ingestion-succeeded')).filter((e) => e.flowId === flow.flowId);
    expect(new Set(decrypted.map((e) => e.runId)).size).toBe(BLOB_FILES);
    expect(decrypted).toHaveLength(BLOB_FILES);
    process.stdout.write(
      `two instances, Blob: file jobs ${sourceDeliveries(a, flow.flowId, 'source-file-outcome').length} on A + ${sourceDeliveries(b, flow.flowId, 'source-file-outcome').length} on B\n`,
    );
    expect(await poisoned(stack.azurite.connectionString)).toEqual([]);
  });

  it('walks a folder holding a link loop and a link to the server root: ingests the real files, ends, and reads nothing through a link', { timeout: 90_000 }, async () => {
    const { gpg, stack } = faults;
    const [a, b] = [faults.instance(0), faults.instance(1)];
    const api = clientFor(a, ORG);
    const connectionId = await sftpConnection(api, sftp);
    const key = await createKey(api, gpg, 'links');
    const versions = new Map<string, string>();
    const sizes = new Map<string, number>();
    for (const name of ['links/top.csv.gpg', 'links/sub/deeper/part.csv.gpg']) {
      const plaintext = csv(versions.size + 1);
      sizes.set(name, plaintext.length);
      versions.set(name, await putSftp(sftp, name, await gpg.encrypt(plaintext, key.recipient)));
    }
    // `loop` is the folder itself, `escape` the server's root: outside the connection's folder lies
    // a file the flow's key opens, which would be ingested (as `links/escape/outside.csv.gpg`) if
    // reached through the link, and `loop` would repeat every file down to the walk's depth limit.
    await writeFile(join(sftp.root, 'outside.csv.gpg'), await gpg.encrypt('id,name\n1,not the customer folder\n', key.recipient));
    await chmod(join(sftp.root, 'outside.csv.gpg'), 0o644);
    await symlink('.', join(sftp.root, 'upload', 'links', 'loop'));
    await symlink('/', join(sftp.root, 'upload', 'links', 'escape'));
    await symlink('..', join(sftp.root, 'upload', 'links', 'sub', 'up'));
    const flow = await createSourceFlow(api, 'links', key, connectionId, '/links', ONCE_NOW(), true);

    await waitForAll(api, flow.flowId, versions, 60_000);
    // The walk ended (the scan's outcome is logged once it has listed everything), having taken only the real files.
    const [scan, ...rescans] = await until('the scan outcome', () => {
      const scans = scanOutcomes([a, b], flow.flowId);
      return Promise.resolve(scans.length > 0 ? scans : undefined);
    }, 10_000);
    expect(rescans).toEqual([]);
    expect(scan).toMatchObject({ kind: 'listed', enqueued: versions.size, retried: 0 });
    await expectIngestedOnce(api, flow, versions, sizes);
    expect((await runsOf(api, flow.flowId)).map((r) => r.fileName).sort()).toEqual([...versions.keys()].sort());
    // Neither runtime fell over.
    for (const runtime of [a, b]) expect(runtime.child.exitCode).toBeNull();
    expect(await poisoned(stack.azurite.connectionString)).toEqual([]);
  });
});

/**
 * The runtime SIGKILLed while it transfers a large file from the customer's SFTP server, then
 * started again on the same storage: the file job it held reappears once its visibility timeout
 * runs out, the new delivery waits for the dead attempt's claim on the run to lapse, then restarts
 * the file under the same run, and the file is committed exactly once.
 */
describe('fault: runtime killed (SIGKILL) mid-transfer from SFTP', () => {
  const faults = useFaultStack({ env: { ...EVERY_SECOND, CIPHERFLOW_QUEUE_VISIBILITY_MS: String(VISIBILITY_MS) } });
  let sftp: SftpServer;

  beforeAll(async () => {
    sftp = await startSftpServer();
  }, 60_000);
  afterAll(async () => {
    await sftp?.stop();
  });

  it('ingests a 96 MiB file exactly once after a SIGKILL mid-transfer', { timeout: 150_000 }, async () => {
    const { stack, gpg } = faults;
    const killed = faults.runtime;
    const api = clientFor(killed, KILL_ORG);
    const connectionId = await sftpConnection(api, sftp);
    const key = await createKey(api, gpg, 'killed');
    const encrypted = await encryptLargeFile(gpg, key.recipient, LARGE, 'killed.csv.gpg');
    const versions = new Map([['killed/big.csv.gpg', await putSftp(sftp, 'killed/big.csv.gpg', { copyOf: encrypted })]]);
    const flow = await createSourceFlow(api, 'killed', key, connectionId, '/killed/*.csv.gpg', ONCE_NOW());

    // Kill once the file's run exists and the file is being read, decrypted and staged, before it finishes.
    await until('the run in progress', async () => ((await runsOf(api, flow.flowId)).some((r) => r.status === 'inProgress') ? true : undefined), 30_000, 50);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await killed.kill();
    const killedAt = Date.now();
    const runsTable = TableClient.fromConnectionString(stack.azurite.connectionString, 'flowruns', { allowInsecureConnection: true });
    const atKill: string[] = [];
    for await (const e of runsTable.listEntities<{ flowId: string; status: string }>()) if (e.flowId === flow.flowId) atKill.push(e.status);
    expect(atKill).toEqual(['inProgress']);
    expect(appEvents(killed, 'ingestion-succeeded')).toEqual([]);
    // The file job it held never finished: its message stays on the queue, invisible for now.
    const unfinished = deliveries(killed).filter((d) => d.outcome === undefined);
    expect(unfinished.length).toBeGreaterThanOrEqual(1);

    const runtime = await faults.restartRuntime();
    const after = clientFor(runtime, KILL_ORG);
    await waitForAll(after, flow.flowId, versions, 120_000);
    process.stdout.write(`SIGKILL mid-transfer from SFTP: file done ${Date.now() - killedAt} ms after the kill\n`);
    const [run] = await expectIngestedOnce(after, flow, versions, new Map([['killed/big.csv.gpg', LARGE]]));
    expect(run?.metrics).toMatchObject({ outputBytes: LARGE, recordCount: recordsIn(LARGE) });
    // The same file job, delivered a second time, restarted the file under the run the dead runtime started.
    const [redelivered, ...more] = await settledFileJobs([runtime], flow.flowId, 1);
    expect(more).toEqual([]);
    expect(unfinished.map((d) => d.messageId)).toContain(redelivered?.messageId);
    expect(redelivered).toMatchObject({ dequeueCount: 2, outcome: 'Succeeded' });
    expect(redelivered?.events).toContainEqual(expect.objectContaining({ event: 'ingestion-succeeded', runId: run?.id }));
    expect(appEvents(runtime, 'ingestion-succeeded')).toHaveLength(1);
    await until('the queue drained', async () => ((await eventsQueueDepth(stack.azurite.connectionString)) === 0 ? true : undefined), 20_000, 500);
    expect(await poisoned(stack.azurite.connectionString)).toEqual([]);
  });
});
