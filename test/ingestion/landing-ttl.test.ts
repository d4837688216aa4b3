import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appServices } from '../../shared/app/root.js';
import { WAITING_FILES_TABLE, listWaitingFiles, recordWaitingFile } from '../../shared/cmk/waiting-files.js';
import { startRun } from '../../shared/flows/runs.js';
import { endExpiredWait } from '../../shared/ingestion/end-expired-wait.js';
import { landingIngestionDeps } from '../../shared/app/ingestion-deps.js';
import { listParkedFiles, parkFile, PARKED_FILES_TABLE } from '../../shared/ingestion/parked-files.js';
import { expireLandingFiles } from '../../shared/landing-zones/expire-files.js';
import { ApiClient, landingZone, waitForRun, type Run } from '../support/api-client.js';
import { ensureGpg, GpgHome } from '../support/gpg.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';

const ORG = 'CF1602TTL0@AdobeOrg';
const CSV = Buffer.from('id,name\n1,Ada\n');
const DAY = 86_400_000;

/**
 * Files leave a landing zone LANDING_ZONE_TTL_DAYS after upload (the local timer; a lifecycle rule in
 * Azure); the runs and batches made from them stay, and a file still waiting when it expires ends
 * its run with FILE_EXPIRED instead of staying in progress.
 */
describe('landing zone TTL', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let api: ApiClient;
  let gpg: GpgHome;
  let zone: ContainerClient;
  let flowId: string;

  beforeAll(async () => {
    ensureGpg();
    stack = await startLocalStack();
    runtime = await startRuntime({ ...stack.env, CIPHERFLOW_QUEUE_MAX_POLL_MS: '200' });
    Object.assign(process.env, stack.env);
    api = new ApiClient(runtime.url, ORG);
    gpg = await GpgHome.create();
    const key = await api.json<{ publicKey: string; publicKeyId: string }>('POST', '/data/foundation/connectors/encryption/keys', {
      name: 'ttl key',
      encryptionAlgorithm: 'PGP',
      params: { passPhrase: 'a passphrase the customer chose' },
    });
    await gpg.importKey(Buffer.from(key.publicKey, 'base64').toString('utf8'));
    const [ref] = await api.json<string[]>('POST', '/data/foundation/catalog/dataSets', { name: 'ttl' });
    const dataSetId = ref?.split('/')[2] ?? '';
    const source = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/sourceConnections', { name: 'zone', data: { format: 'delimited' }, params: { path: '/in/*.csv.gpg' } });
    const target = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/targetConnections', { name: 'ds', params: { dataSetId } });
    flowId = (
      await api.json<{ id: string }>('POST', '/data/foundation/flowservice/flows', {
        name: 'ttl flow',
        sourceConnectionIds: [source.id],
        targetConnectionIds: [target.id],
        transformations: [{ name: 'Encryption', params: { publicKeyId: key.publicKeyId } }],
      })
    ).id;
    zone = await landingZone(api);
  });
  afterAll(async () => {
    await runtime?.stop();
    await stack?.stop();
    await gpg?.dispose();
  });

  async function runsOf(fileName: string): Promise<Run[]> {
    const { items } = await api.json<{ items: Run[] }>('GET', `/data/foundation/flowservice/runs?property=flowId==${flowId}`);
    return items.filter((r) => r.fileName === fileName);
  }

  it('deletes files past the TTL, keeps younger ones, and keeps the runs and batches made from them', async () => {
    const uploaded = await zone.getBlockBlobClient('in/done.csv.gpg').uploadData(await gpg.encrypt(CSV, 'ttl key'));
    const run = await waitForRun(api, flowId, 'in/done.csv.gpg', { etag: uploaded.etag ?? '' });
    expect(run.status).toBe('success');

    const services = await appServices();
    const sweep = (days: number) =>
      expireLandingFiles({ tables: services.tables, blobs: services.landing.blobs, ttlDays: 7, clock: { now: () => Date.now() + days * DAY } });
    expect((await sweep(6.9)).deleted).toBe(0);
    expect(await zone.getBlobClient('in/done.csv.gpg').exists()).toBe(true);

    const swept = await sweep(7.1);
    expect(swept.deleted).toBeGreaterThanOrEqual(1);
    expect(swept.zones).toBeGreaterThanOrEqual(1);
    expect(await zone.getBlobClient('in/done.csv.gpg').exists()).toBe(false);
    const [kept] = await runsOf('in/done.csv.gpg');
    expect(kept).toMatchObject({ id: run.id, status: 'success', batchId: run.batchId });
    const files = await api.json<{ data: { dataSetFileId: string }[] }>('GET', `/data/foundation/export/batches/${run.batchId ?? ''}/files`);
    const exported = await api.request('GET', `/data/foundation/export/files/${files.data[0]?.dataSetFileId ?? ''}`);
    expect(Buffer.from(await exported.arrayBuffer()).equals(CSV)).toBe(true);
  });

  it('ends the runs of a file parked for the vault or waiting for the customer key with FILE_EXPIRED', async () => {
    const services = await appServices();
    const ingestion = await landingIngestionDeps(services, () => undefined);
    const parked = await services.tables(PARKED_FILES_TABLE);
    const waiting = await services.tables(WAITING_FILES_TABLE);
    // Two files whose first attempts found the vault down / the org's key revoked: their runs are
    // in progress and they wait, without an event of their own (placed straight in Azurite).
    const direct = BlobServiceClient.fromConnectionString(stack.landing.connectionString.replace(stack.landing.blobEndpoint, stack.azurite.landing.blobEndpoint)).getContainerClient(zone.containerName);
    const waits: { name: string; record: (f: { orgId: string; container: string; blobName: string; etag: string }) => Promise<void> }[] = [
      { name: 'in/parked.csv.gpg', record: async (f) => void (await parkFile(parked, f, new Date())) },
      { name: 'in/waiting.csv.gpg', record: (f) => recordWaitingFile(waiting, f, new Date()) },
    ];
    for (const { name, record } of waits) {
      const { etag = '' } = await direct.getBlockBlobClient(name).uploadData(await gpg.encrypt(CSV, 'ttl key'));
      await startRun(services, { orgId: ORG, sandbox: 'prod' }, { flowId, fileName: name, blobETag: etag, inputBytes: 1 });
      await record({ orgId: ORG, container: zone.containerName, blobName: name, etag });
    }
    expect((await runsOf('in/parked.csv.gpg'))[0]?.status).toBe('inProgress');

    const swept = await expireLandingFiles({
      tables: services.tables,
      blobs: services.landing.blobs,
      ttlDays: 7,
      clock: { now: () => Date.now() + 8 * DAY },
      onExpired: async (f) => void (await endExpiredWait({ ingestion, blobs: services.landing.blobs, parked, waiting }, f)),
    });
    expect(swept.deleted).toBeGreaterThanOrEqual(2);
    for (const { name } of waits) {
      const [run] = await runsOf(name);
      expect(run?.status, name).toBe('failed');
      expect(run?.errors[0]?.code, name).toBe('FILE_EXPIRED');
    }
    expect(await listParkedFiles(parked, ORG)).toEqual([]);
    expect(await listWaitingFiles(waiting, ORG)).toEqual([]);
  });
});
