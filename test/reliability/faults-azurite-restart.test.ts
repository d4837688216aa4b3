import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type AzuriteInstance } from '../../local/azurite.js';
import { startDevIssuer, type DevIssuer } from '../../local/dev-issuer.js';
import { ensureDevTls } from '../../local/dev-tls.js';
import { startKeyVaultEmulator, type KeyVaultEmulator } from '../../local/keyvault-emulator/index.js';
import { ensureGpg, GpgHome } from '../support/gpg.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import {
  clientFor,
  encryptLargeFile,
  expectExactlyOnce,
  FAST_TRIGGERS,
  freePorts,
  landingContainer,
  poisonMessages,
  recordsIn,
  runsOf,
  setUpFlow,
  until,
  waitForAll,
} from './faults-support.js';

const ORG = 'CF00A2R17E@AdobeOrg';
const SIZE = 96 * 1024 * 1024;

/**
 * Azurite (blobs, queues, tables: receipts, runs, staging, batches) stopped in the middle of a
 * large file's ingestion and started again on the same ports and on-disk data, while the runtime
 * keeps running: the file ends up in the dataset exactly once.
 */
describe('fault: Azurite stopped and restarted mid-ingestion', () => {
  let location: string;
  let ports: number[];
  let azurite: AzuriteInstance;
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
    runtime = await startRuntime({
      CIPHERFLOW_ENV: 'local',
      AUTH_JWKS_URL: issuer.jwksUrl,
      AzureWebJobsStorage: azurite.connectionString,
      SYSTEM_KEY_VAULT_URL: vault.url,
      NODE_EXTRA_CA_CERTS: tls.caPath,
      ...vault.env(),
      ...FAST_TRIGGERS,
    });
    gpg = await GpgHome.create();
    await landingContainer(azurite.connectionString).createIfNotExists();
  });
  afterAll(async () => {
    await runtime?.stop();
    await Promise.all([azurite?.stop(), vault?.close(), issuer?.close()]);
    await gpg?.dispose();
    if (location !== undefined) await rm(location, { recursive: true, force: true });
  });

  it('ingests a large file exactly once across a storage restart', { timeout: 150_000 }, async () => {
    const api = clientFor(runtime, ORG);
    const flow = await setUpFlow(api, gpg, 'restart');
    const encrypted = await encryptLargeFile(gpg, flow.recipient, SIZE, 'restart.csv.gpg');
    const uploaded = await landingContainer(azurite.connectionString)
      .getBlockBlobClient(`${ORG}/prod/restart/big.csv.gpg`)
      .uploadFile(encrypted, { blockSize: 8 * 1024 * 1024, concurrency: 4 });
    const files = new Map([['restart/big.csv.gpg', uploaded.etag ?? '']]);

    await until('the run in progress', async () => ((await runsOf(api, flow.flowId)).some((r) => r.status === 'inProgress') ? true : undefined), 30_000, 50);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await azurite.stop();
    const stoppedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    azurite = await startStorage();
    const down = Date.now() - stoppedAt;

    await waitForAll(api, flow.flowId, files, 120_000);
    const failed = runtime.lines.filter((l) => l.includes("Executed 'ingest-landing' (Failed")).length;
    process.stdout.write(`Azurite restart mid-ingestion (down ${down} ms, ${failed} trigger attempt(s) failed): done ${Date.now() - stoppedAt} ms after the stop\n`);
    const [run] = await expectExactlyOnce(api, flow, files);
    expect(run?.metrics).toMatchObject({ outputBytes: SIZE, recordCount: recordsIn(SIZE) });
    expect(await poisonMessages(azurite.connectionString)).toEqual([]);
    // The plaintext reads back whole through the export API.
    const listed = await api.json<{ data: { dataSetFileId: string }[] }>('GET', `/data/foundation/export/batches/${run?.batchId ?? ''}/files`);
    const res = await api.request('GET', `/data/foundation/export/files/${listed.data[0]?.dataSetFileId ?? ''}`);
    expect(res.status).toBe(200);
    let bytes = 0;
    for await (const chunk of res.body ?? []) bytes += (chunk as Uint8Array).length;
    expect(bytes).toBe(SIZE);
  });
});
