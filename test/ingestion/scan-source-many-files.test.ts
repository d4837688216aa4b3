import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appServices } from '../../shared/app/root.js';
import type { AppServices } from '../../shared/app/services.js';
import { openConnection } from '../../shared/flows/base-connections.js';
import { scanSource, type ScanOutcome } from '../../shared/ingestion/scan-source.js';
import { FILE_JOB, SCAN_JOB, type SourceJob } from '../../shared/ingestion/source-jobs.js';
import { SFTP_CONNECTION_SPEC } from '../../shared/sources/connection-auth.js';
import { ApiClient } from '../support/api-client.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { startSftpServer, type SftpServer } from '../support/sftp-server.js';

const ORG = 'CF0019BULK@AdobeOrg';
const FILES = 10_000;
const FLOW_SERVICE = '/data/foundation/flowservice';
/** Never due: the runtime's scheduler leaves the flow alone; the test runs each scheduled run itself. */
const NEVER = String(Date.UTC(2100, 0, 1) / 1000);
/** What a scan of any number of files may add to the heap at its peak. */
const MAX_HEAP_GROWTH = 100 * 1024 * 1024;
const MiB = 1024 * 1024;

/**
 * A scheduled run over a folder of 10,000 files on a real OpenSSH server: the scan (the domain's
 * own `scanSource`, with the app's services on Azurite and the real SFTP reader) enqueues each
 * file exactly once, a second run enqueues none, and neither holds the listing in memory: the
 * heap's growth at its peak stays bounded. The runtime only serves the API the flow is made with.
 */
describe('a scheduled run over 10,000 files in one SFTP folder', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let sftp: SftpServer;
  let services: AppServices;
  let flowId: string;
  let connectionId: string;
  const expected = new Set<string>();

  beforeAll(async () => {
    stack = await startLocalStack();
    sftp = await startSftpServer();
    runtime = await startRuntime({ ...stack.env });
    const api = new ApiClient(runtime.url, ORG);
    const bulk = join(sftp.root, 'upload', 'bulk');
    mkdirSync(bulk);
    for (let i = 0; i < FILES; i++) {
      const name = `part-${String(i).padStart(5, '0')}.csv`;
      writeFileSync(join(bulk, name), `id\n${i}\n`);
      expected.add(`bulk/${name}`);
    }
    // Beside them, files the glob does not select.
    for (let i = 0; i < 10; i++) writeFileSync(join(bulk, `notes-${i}.txt`), 'not a csv');

    const key = await api.json<{ publicKeyId: string }>('POST', '/data/foundation/connectors/encryption/keys', {
      name: 'bulk key', encryptionAlgorithm: 'PGP', params: { passPhrase: 'a passphrase the customer chose' },
    });
    const [dataSetRef] = await api.json<string[]>('POST', '/data/foundation/catalog/dataSets', { name: 'bulk' });
    const target = await api.json<{ id: string }>('POST', `${FLOW_SERVICE}/targetConnections`, { name: 't', params: { dataSetId: dataSetRef?.split('/')[2] ?? '' } });
    const connection = await api.json<{ id: string }>('POST', `${FLOW_SERVICE}/connections`, {
      name: 'customer sftp',
      auth: {
        specName: 'Basic Authentication for sftp',
        params: { host: sftp.host, port: String(sftp.port), userName: sftp.userName, password: sftp.password, folderPath: '/upload' },
      },
      connectionSpec: { id: SFTP_CONNECTION_SPEC, version: '1.0' },
    });
    connectionId = connection.id;
    const source = await api.json<{ id: string }>('POST', `${FLOW_SERVICE}/sourceConnections`, {
      name: 'bulk', baseConnectionId: connection.id, data: { format: 'delimited' }, params: { path: '/bulk/*.csv' },
    });
    flowId = (await api.json<{ id: string }>('POST', `${FLOW_SERVICE}/flows`, {
      name: 'bulk',
      sourceConnectionIds: [source.id],
      targetConnectionIds: [target.id],
      transformations: [{ name: 'Encryption', params: { publicKeyId: key.publicKeyId } }],
      scheduleParams: { startTime: NEVER, frequency: 'hour', interval: '1' },
    })).id;
    Object.assign(process.env, stack.env);
    services = await appServices();
  }, 180_000);

  afterAll(async () => {
    await runtime?.stop();
    await sftp?.stop();
    await stack?.stop();
  });

  /** One scheduled run: its outcome, the paths it enqueued (with how often), its time and the heap's growth at its peak. */
  async function measuredRun(tick: number) {
    const enqueued = new Map<string, number>();
    const enqueue = (job: SourceJob): Promise<void> => {
      if (job.kind === FILE_JOB) enqueued.set(job.path, (enqueued.get(job.path) ?? 0) + 1);
      return Promise.resolve();
    };
    const baseline = process.memoryUsage().heapUsed;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 20);
    const started = performance.now();
    let outcome: ScanOutcome;
    try {
      outcome = await scanSource(
        { connections: services.sources.connections, enqueue, clock: services.clock, log: () => undefined },
        { kind: SCAN_JOB, orgId: ORG, sandbox: 'prod', flowId, tick },
      );
    } finally {
      clearInterval(sampler);
    }
    const ms = performance.now() - started;
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    return { outcome, enqueued, ms, heapGrowth: peak - baseline, rss: process.memoryUsage().rss };
  }

  it('enqueues each file exactly once, then none at the next run, in bounded memory', { timeout: 900_000 }, async () => {
    // The listing alone, through the flow's own connection: what a scan costs besides its table reads and writes.
    const reader = await openConnection(services.sources.connections, { orgId: ORG, sandbox: 'prod' }, connectionId);
    const listingStarted = performance.now();
    let listed = 0;
    try {
      for await (const file of reader.walk('bulk', { recursive: false })) if (file.type === 'file') listed++;
    } finally {
      await reader.close();
    }
    const listingMs = performance.now() - listingStarted;
    expect(listed).toBe(FILES + 10);
    process.stdout.write(`10,000-file scan: listing alone ${Math.round(listingMs)} ms\n`);

    const first = await measuredRun(1);
    process.stdout.write(
      `10,000-file scan, first run: ${Math.round(first.ms)} ms (${(first.ms / FILES).toFixed(2)} ms a file), ` +
        `heap growth at peak ${(first.heapGrowth / MiB).toFixed(1)} MiB, rss ${(first.rss / MiB).toFixed(0)} MiB\n`,
    );
    expect(first.outcome).toEqual({ kind: 'listed', enqueued: FILES, retried: 0 });
    expect(new Set(first.enqueued.keys())).toEqual(expected);
    expect([...first.enqueued.values()].filter((n) => n !== 1)).toEqual([]);
    expect(first.heapGrowth).toBeLessThan(MAX_HEAP_GROWTH);

    const second = await measuredRun(2);
    process.stdout.write(
      `10,000-file scan, second run: ${Math.round(second.ms)} ms, heap growth at peak ${(second.heapGrowth / MiB).toFixed(1)} MiB\n`,
    );
    expect(second.outcome).toEqual({ kind: 'listed', enqueued: 0, retried: 0 });
    expect(second.enqueued.size).toBe(0);
    expect(second.heapGrowth).toBeLessThan(MAX_HEAP_GROWTH);
  });
});
