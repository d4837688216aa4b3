/**
 * `npm run soak -- [--minutes 30] [--large-mib 1024] [--files-per-round 20]`: the reliability
 * soak. Runs the whole local system (Azurite on disk with the internal and landing accounts, the
 * landing account's local Event Grid, the Key Vault emulator, the runtime) and, round after round
 * until the time is up, lands a batch of encrypted files of mixed sizes in the org's landing zone
 * (with the SAS the API issues, as a customer does) while API clients (plaintext and HPKE) keep
 * calling, and injects one fault per round in turn: a Key Vault outage, a SIGKILL of the runtime,
 * an Azurite restart, or none. A large file (1 GiB by default) is landed first so the faults hit
 * it too. At the end every file must be in its dataset exactly once, with nothing poisoned, and the
 * only API errors outside a fault's window must be 429s; it prints a JSON summary and exits 1
 * otherwise. Loopback only, on free ports; state in a temp directory.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { QueueServiceClient } from '@azure/storage-queue';
import { createHpkeFetch, generateClientKeyPair, type ServerKeyInfo } from '../shared/hpke/client.js';
import { ApiClient, apiHeaders, landingZone, type Run } from './api-client.js';
import { startAzurite, type AzuriteInstance } from './azurite.js';
import { startDevIssuer } from './dev-issuer.js';
import { ensureDevTls } from './dev-tls.js';
import { ensureGpg, GpgHome } from './gpg.js';
import { startKeyVaultEmulator } from './keyvault-emulator/index.js';
import { LANDING_EVENTS_QUEUE, landingAppSettings, startLandingEvents } from './landing-events.js';
import { POISON_QUEUE_SUFFIX } from './runtime/queue-trigger.js';
import { startRuntime, type RuntimeProcess } from './runtime-process.js';

const ORG = 'CF0050AK00@AdobeOrg';
const LINE = Buffer.from('00000001,a-customer-name-padded-to-a-realistic-width,someone@example.com,2026-11-22T00:00:00Z\n');
const SIZES = [1024, 64 * 1024, 1024 * 1024, 4 * 1024 * 1024];
const FAULTS = ['vault-outage', 'runtime-kill', 'azurite-restart', 'none'] as const;
type Fault = (typeof FAULTS)[number];

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    'large-mib': { type: 'string', default: '1024' },
    'files-per-round': { type: 'string', default: '20' },
  },
});
const minutes = Number(args.minutes);
const largeBytes = Number(args['large-mib']) * 1024 * 1024;
const filesPerRound = Number(args['files-per-round']);
if (!(minutes > 0) || !(largeBytes >= 0) || !Number.isInteger(filesPerRound) || filesPerRound < 1) {
  throw new Error('usage: soak [--minutes N] [--large-mib N] [--files-per-round N]');
}

function csv(size: number): Readable {
  const block = Buffer.concat(Array.from({ length: Math.floor((1024 * 1024) / LINE.length) }, () => LINE));
  let left = size;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, block.length);
      left -= n;
      this.push(n === block.length ? block : block.subarray(0, n));
    },
  });
}

async function encrypt(gpg: GpgHome, recipient: string, size: number, name: string): Promise<string> {
  const output = path.join(gpg.dir, name);
  const child = spawn('gpg', ['--homedir', gpg.dir, '--batch', '--yes', '--trust-model', 'always', '--compress-algo', 'none',
    '--encrypt', '--recipient', recipient, '--output', output], { stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = once(child, 'exit');
  await pipeline(csv(size), child.stdin);
  const [code] = (await exited) as [number | null];
  if (code !== 0) throw new Error(`gpg exited with ${code}`);
  return output;
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    return server;
  }));
  const ports = servers.map((s) => {
    const a = s.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  ensureGpg();
  const started = Date.now();
  const deadline = started + minutes * 60_000;
  const location = await mkdtemp(path.join(tmpdir(), 'cipherflow-soak-'));
  const [blobPort, queuePort, tablePort] = await freePorts(3);
  const startStorage = () => startAzurite({ location, blobPort: blobPort ?? 0, queuePort: queuePort ?? 0, tablePort: tablePort ?? 0 });
  const tls = await ensureDevTls();
  let azurite: AzuriteInstance = await startStorage();
  // Started once: Azurite comes back on the same ports after a restart, so the proxy's upstream,
  // and the landing endpoint in the zone's SAS URI, stay valid.
  const landingEvents = await startLandingEvents({
    upstream: azurite.landing,
    queue: { connectionString: azurite.connectionString, queueName: LANDING_EVENTS_QUEUE },
    port: 0,
  });
  const vault = await startKeyVaultEmulator({ port: 0, tls });
  const issuer = await startDevIssuer({ port: 0, env: { CIPHERFLOW_ENV: 'local' } });
  const env = {
    CIPHERFLOW_ENV: 'local',
    AUTH_JWKS_URL: issuer.jwksUrl,
    AzureWebJobsStorage: azurite.connectionString,
    SYSTEM_KEY_VAULT_URL: vault.url,
    NODE_EXTRA_CA_CERTS: tls.caPath,
    ...vault.env(),
    ...landingAppSettings(landingEvents),
    CIPHERFLOW_QUEUE_MAX_POLL_MS: '200',
    // A failed attempt is retried after 1 s instead of host.json's 15 s (the host's own override).
    AzureFunctionsJobHost__extensions__queues__visibilityTimeout: '00:00:01',
    // A message held by a SIGKILLed runtime reappears after this (10 minutes in Azure), well
    // within a round's wait; a live runtime renews it at half.
    CIPHERFLOW_QUEUE_VISIBILITY_MS: '30000',
    // Every file needs the vault, so an outage is felt.
    KEY_CACHE_TTL_SECONDS: '1',
    KEY_CACHE_MAX_STALE_SECONDS: '0',
  };
  let runtime: RuntimeProcess = await startRuntime(env);
  const gpg = await GpgHome.create();
  const summary = {
    minutes, rounds: 0, faults: { 'vault-outage': 0, 'runtime-kill': 0, 'azurite-restart': 0, none: 0 } as Record<Fault, number>,
    files: 0, bytes: 0, requests: {} as Record<string, number>, errorsDuringFaults: 0, unexpected: [] as string[],
    violations: [] as string[], largeFile: { bytes: largeBytes, status: 'none' as string }, durationMs: 0,
  };
  let faultActive = false;
  let stopping = false;
  try {
    const api = () => new ApiClient(runtime.url, ORG);
    // The zone's SAS outlives runtime restarts (its stored access policy is on Azurite's disk).
    const zone = await landingZone(api());

    const recipient = 'soak key';
    const key = await api().json<{ publicKey: string; publicKeyId: string }>('POST', '/data/foundation/connectors/encryption/keys', {
      name: recipient, encryptionAlgorithm: 'PGP', params: { passPhrase: 'the soak passphrase' },
    });
    await gpg.importKey(Buffer.from(key.publicKey, 'base64').toString('utf8'));
    // One dataset and flow per round (runs and batches listings stop at 1000 each).
    const createFlow = async (folder: string): Promise<SoakFlow> => {
      const [ref] = await api().json<string[]>('POST', '/data/foundation/catalog/dataSets', { name: folder });
      const dataSetId = ref?.split('/')[2] ?? '';
      const source = await api().json<{ id: string }>('POST', '/data/foundation/flowservice/sourceConnections', { name: folder, data: { format: 'delimited' }, params: { path: `/${folder}/*.csv.gpg` } });
      const target = await api().json<{ id: string }>('POST', '/data/foundation/flowservice/targetConnections', { name: folder, params: { dataSetId } });
      const flowId = (await api().json<{ id: string }>('POST', '/data/foundation/flowservice/flows', {
        name: folder, sourceConnectionIds: [source.id], targetConnectionIds: [target.id],
        transformations: [{ name: 'Encryption', params: { publicKeyId: key.publicKeyId } }],
      })).id;
      const flow = { folder, flowId, dataSetId, files: new Map<string, { etag: string; size: number }>() };
      flows.push(flow);
      return flow;
    };
    const flows: SoakFlow[] = [];
    const encrypted = new Map<number, string>();
    for (const size of SIZES) encrypted.set(size, await encrypt(gpg, recipient, size, `soak-${size}.csv.gpg`));

    const clientKey = await generateClientKeyPair(9);
    await fetch(`${runtime.url}/api-encryption/client-keys/9`, {
      method: 'PUT', headers: await apiHeaders(ORG, undefined, { 'content-type': 'application/json' }),
      body: JSON.stringify({ kemId: 32, publicKey: Buffer.from(clientKey.publicKey).toString('base64url') }),
    });
    const serverKey = async () => {
      const { keys } = (await (await fetch(`${runtime.url}/api-encryption/keys`)).json()) as { keys: ServerKeyInfo[] };
      const active = keys.find((k) => k.status === 'active');
      if (active === undefined) throw new Error('no active HPKE key');
      return active;
    };

    const land = async (flow: SoakFlow, name: string, file: string, size: number) => {
      const uploaded = await zone.getBlockBlobClient(`${flow.folder}/${name}`)
        .uploadFile(file, { blockSize: 8 * 1024 * 1024, concurrency: 4 });
      flow.files.set(`${flow.folder}/${name}`, { etag: uploaded.etag ?? '', size });
      summary.files += 1;
      summary.bytes += size;
    };

    // API clients for the whole run; a failure while a fault is active is counted, not a violation.
    const count = (status: string) => (summary.requests[status] = (summary.requests[status] ?? 0) + 1);
    const client = async (n: number, hpke: boolean) => {
      for (let i = 0; !stopping; i++) {
        try {
          const headers = await apiHeaders(ORG, 'prod', hpke ? {} : { 'content-type': 'application/json' });
          const url = `${runtime.url}/data/foundation/catalog/dataSets`;
          const body = JSON.stringify({ name: `c${n}-${i}` });
          const res = hpke
            ? await createHpkeFetch({ serverKey, clientKey })(url, { method: 'POST', headers, body })
            : await fetch(url, { method: 'POST', headers, body });
          await res.arrayBuffer();
          count(String(res.status));
          if (res.status >= 300 && !(res.status === 429 && res.headers.has('retry-after'))) {
            if (faultActive) summary.errorsDuringFaults += 1;
            else summary.unexpected.push(`${hpke ? 'hpke' : 'plain'} → ${res.status}`);
          }
        } catch (err) {
          count('network-error');
          if (faultActive) summary.errorsDuringFaults += 1;
          else summary.unexpected.push(`network: ${err instanceof Error ? err.message : String(err)}`);
          await sleep(500);
        }
        await sleep(100);
      }
    };
    const clients = [0, 1, 2, 3].map((n) => client(n, n % 2 === 1));

    if (largeBytes > 0) {
      log(`encrypting and landing a ${largeBytes / 2 ** 20} MiB file`);
      await land(await createFlow('soak-large'), 'large.csv.gpg', await encrypt(gpg, recipient, largeBytes, 'soak-large.csv.gpg'), largeBytes);
    }

    const inject = async (fault: Fault) => {
      faultActive = true;
      try {
        switch (fault) {
          case 'vault-outage':
            vault.injectFault({ kind: 'status', status: 503, count: 1_000_000 });
            await sleep(15_000);
            vault.clearFaults();
            break;
          case 'runtime-kill':
            await runtime.kill();
            await sleep(1_000);
            runtime = await startRuntime(env);
            break;
          case 'azurite-restart':
            await azurite.stop();
            await sleep(3_000);
            azurite = await startStorage();
            break;
          case 'none':
            break;
        }
      } finally {
        // Requests in flight when the fault ended may still fail: a short grace period.
        await sleep(2_000);
        faultActive = false;
      }
    };

    while (Date.now() < deadline) {
      const round = summary.rounds++;
      const fault = FAULTS[round % FAULTS.length] ?? 'none';
      const flow = await createFlow(`soak-r${round}`);
      await Promise.all(Array.from({ length: filesPerRound }, async (_, i) => {
        const size = SIZES[i % SIZES.length] ?? 1024;
        await land(flow, `f${i}.csv.gpg`, encrypted.get(size) ?? '', size);
      }));
      await sleep(300);
      await inject(fault);
      summary.faults[fault] += 1;
      log(`round ${round}: ${filesPerRound} files, fault ${fault}`);
      try {
        await settled(api(), flow, 180_000);
        summary.violations.push(...(await exactlyOnce(api(), flow)));
      } catch (err) {
        summary.violations.push(`round ${round}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    stopping = true;
    await Promise.all(clients);
    log('draining');
    // Every flow again at the end: a late duplicate would show here.
    for (const flow of flows) {
      try {
        await settled(api(), flow, 15 * 60_000);
        const problems = await exactlyOnce(api(), flow);
        summary.violations.push(...problems);
        if (flow.folder === 'soak-large') summary.largeFile.status = problems.length === 0 ? 'success' : 'failed';
      } catch (err) {
        summary.violations.push(`${flow.folder}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const poison = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient(`${LANDING_EVENTS_QUEUE}${POISON_QUEUE_SUFFIX}`);
    if (await poison.exists()) {
      const n = (await poison.getProperties()).approximateMessagesCount ?? 0;
      if (n > 0) summary.violations.push(`${n} poison message(s)`);
    }
    if (summary.unexpected.length > 0) summary.violations.push(`${summary.unexpected.length} unexpected API error(s)`);
  } finally {
    stopping = true;
    summary.durationMs = Date.now() - started;
    await runtime.stop();
    await landingEvents.close();
    await Promise.all([azurite.stop(), vault.close(), issuer.close()]);
    await gpg.dispose();
    await rm(location, { recursive: true, force: true });
  }
  summary.unexpected = summary.unexpected.slice(0, 20);
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  process.exitCode = summary.violations.length === 0 ? 0 : 1;
}

interface SoakFlow {
  readonly folder: string;
  readonly flowId: string;
  readonly dataSetId: string;
  /** Landed file name (relative to the zone) → its ETag and plaintext size. */
  readonly files: Map<string, { etag: string; size: number }>;
}

async function runsOf(api: ApiClient, flow: SoakFlow): Promise<Run[]> {
  return (await api.json<{ items: Run[] }>('GET', `/data/foundation/flowservice/runs?property=flowId==${flow.flowId}`)).items;
}

/** Waits until every file of the flow has a finished run of its ETag. */
async function settled(api: ApiClient, flow: SoakFlow, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const runs = await runsOf(api, flow).catch(() => undefined);
    const pending = runs === undefined
      ? flow.files.size
      : [...flow.files].filter(([n, f]) => !runs.some((r) => r.fileName === n && r.blobETag === f.etag && r.status !== 'inProgress')).length;
    if (pending === 0) return;
    if (Date.now() > until) throw new Error(`${pending} of ${flow.files.size} files unfinished after ${timeoutMs} ms`);
    await sleep(1_000);
  }
}

/** What is wrong with "one successful run and one committed batch per landed file" for a flow. */
async function exactlyOnce(api: ApiClient, flow: SoakFlow): Promise<string[]> {
  const problems: string[] = [];
  const runs = await runsOf(api, flow);
  const batches = new Set(Object.keys(await api.json<Record<string, unknown>>('GET', `/data/foundation/catalog/batches?dataSet=${flow.dataSetId}`)));
  for (const [name, { etag, size }] of flow.files) {
    const mine = runs.filter((r) => r.fileName === name && r.blobETag === etag);
    const run = mine[0];
    if (mine.length !== 1 || run === undefined) problems.push(`${name}: ${mine.length} runs`);
    else if (run.status !== 'success' || run.batchId === undefined) problems.push(`${name}: ${run.status} ${JSON.stringify(run.errors)}`);
    else if (run.metrics.outputBytes !== size) problems.push(`${name}: ${run.metrics.outputBytes} bytes, not ${size}`);
    else if (!batches.has(run.batchId)) problems.push(`${name}: batch ${run.batchId} not in the dataset`);
  }
  if (runs.length !== flow.files.size) problems.push(`${flow.folder}: ${runs.length} runs for ${flow.files.size} files`);
  if (batches.size !== flow.files.size) problems.push(`${flow.folder}: ${batches.size} batches for ${flow.files.size} files`);
  return problems;
}

function log(message: string): void {
  process.stderr.write(`[soak ${new Date().toISOString()}] ${message}\n`);
}

await main();
