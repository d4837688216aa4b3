import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type AzuriteInstance } from '../../local/azurite.js';
import { startDevIssuer, type DevIssuer } from '../../local/dev-issuer.js';
import { ensureDevTls } from '../../local/dev-tls.js';
import { startKeyVaultEmulator, type KeyVaultEmulator } from '../../local/keyvault-emulator/index.js';
import { landingAppSettings, startLandingEvents, type LandingEvents } from '../../local/landing-events.js';
import { landingZone } from '../support/api-client.js';
import { ensureGpg, GpgHome } from '../support/gpg.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import {
  clientFor,
  deliveries,
  encryptLargeFile,
  eventsQueueDepth,
  expectExactlyOnce,
  FAST_TRIGGERS,
  freePorts,
  LANDING_EVENTS_QUEUE,
  MAX_DEQUEUE_COUNT,
  poisonedEvents,
  recordsIn,
  runsOf,
  setUpFlow,
  until,
  waitForAll,
} from './faults-support.js';

const ORG = 'CF00A2R17E@AdobeOrg';
const SIZE = 96 * 1024 * 1024;
/**
 * A received message's visibility, cut from the host's 10 minutes: should the runtime fail to
 * release a message while storage is down, it is delivered again this soon after, as in Azure
 * after 10 minutes.
 */
const VISIBILITY_MS = 10_000;

/**
 * Azurite (blobs of both accounts, the events queue, tables: runs, staging, batches) stopped in
 * the middle of a large file's ingestion and started again on the same ports and on-disk data,
 * while the runtime and the local Event Grid keep running: the event survives on the queue, is
 * delivered again, and the file ends up in the dataset exactly once.
 */
describe('fault: Azurite stopped and restarted mid-ingestion', () => {
  let location: string;
  let ports: number[];
  let azurite: AzuriteInstance;
  let events: LandingEvents;
  let vault: KeyVaultEmulator;
  let issuer: DevIssuer;
  let runtime: RuntimeProcess;
  let gpg: GpgHome;

  const startStorage = () => startAzurite({ location, blobPort: ports[0] ?? 0, queuePort: ports[1] ?? 0, tablePort: ports[2] ?? 0 });

  beforeAll(async () => {
    ensureGpg();
    location = await mkdtemp(path.join(tmpdir(), 'cipherflow-azurite-'));
    ports = await freePorts(3);
    const tls = await ensureDevTls();
    [azurite, vault, issuer] = await Promise.all([
      startStorage(),
      startKeyVaultEmulator({ port: 0, tls }),
      startDevIssuer({ port: 0, env: { CIPHERFLOW_ENV: 'local' } }),
    ]);
    events = await startLandingEvents({
      upstream: azurite.landing,
      queue: { connectionString: azurite.connectionString, queueName: LANDING_EVENTS_QUEUE },
      port: 0,
    });
    runtime = await startRuntime({
      CIPHERFLOW_ENV: 'local',
      AUTH_JWKS_URL: issuer.jwksUrl,
      AzureWebJobsStorage: azurite.connectionString,
      SYSTEM_KEY_VAULT_URL: vault.url,
      NODE_EXTRA_CA_CERTS: tls.caPath,
      ...vault.env(),
      ...landingAppSettings(events),
      ...FAST_TRIGGERS,
      CIPHERFLOW_QUEUE_VISIBILITY_MS: String(VISIBILITY_MS),
    });
    gpg = await GpgHome.create();
  });
  afterAll(async () => {
    await runtime?.stop();
    await events?.close();
    await Promise.all([azurite?.stop(), vault?.close(), issuer?.close()]);
    await gpg?.dispose();
    if (location !== undefined) await rm(location, { recursive: true, force: true });
  });

  it('ingests a large file exactly once across a storage restart', { timeout: 150_000 }, async () => {
    const api = clientFor(runtime, ORG);
    const flow = await setUpFlow(api, gpg, 'restart');
    const zone = await landingZone(api);
    const encrypted = await encryptLargeFile(gpg, flow.recipient, SIZE, 'restart.csv.gpg');
    const uploaded = await zone.getBlockBlobClient('restart/big.csv.gpg').uploadFile(encrypted, { blockSize: 8 * 1024 * 1024, concurrency: 4 });
    const files = new Map([['restart/big.csv.gpg', uploaded.etag ?? '']]);

    await until('the run in progress', async () => ((await runsOf(api, flow.flowId)).some((r) => r.status === 'inProgress') ? true : undefined), 30_000, 50);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await azurite.stop();
    const stoppedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    azurite = await startStorage();
    const down = Date.now() - stoppedAt;

    await waitForAll(api, flow.flowId, files, 120_000);
    const delivered = deliveries(runtime);
    process.stdout.write(
      `Azurite restart mid-ingestion (down ${down} ms; deliveries ${JSON.stringify(delivered.map((d) => [d.dequeueCount, d.outcome ?? 'unfinished']))}): ` +
        `done ${Date.now() - stoppedAt} ms after the stop\n`,
    );
    const [run] = await expectExactlyOnce(api, flow, files);
    expect(run?.metrics).toMatchObject({ outputBytes: SIZE, recordCount: recordsIn(SIZE) });
    // One event, delivered until it succeeded, well within maxDequeueCount; then deleted.
    expect(new Set(delivered.map((d) => d.messageId)).size).toBe(1);
    expect(delivered.length).toBeLessThan(MAX_DEQUEUE_COUNT);
    expect(delivered.at(-1)?.outcome).toBe('Succeeded');
    expect(delivered.filter((d) => d.outcome === 'Succeeded')).toHaveLength(1);
    await until('the event deleted', async () => ((await eventsQueueDepth(azurite.connectionString)) === 0 ? true : undefined), 5_000);
    expect(await poisonedEvents(azurite.connectionString)).toEqual([]);
    // The plaintext reads back whole through the export API.
    const listed = await api.json<{ data: { dataSetFileId: string }[] }>('GET', `/data/foundation/export/batches/${run?.batchId ?? ''}/files`);
    const res = await api.request('GET', `/data/foundation/export/files/${listed.data[0]?.dataSetFileId ?? ''}`);
    expect(res.status).toBe(200);
    let bytes = 0;
    for await (const chunk of res.body ?? []) bytes += (chunk as Uint8Array).length;
    expect(bytes).toBe(SIZE);
  });
});
