import { spawn } from 'node:child_process';
import { chown, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SFTP_CONNECTION_SPEC } from '../../shared/sources/connection-auth.js';
import { ApiClient, waitForRun } from '../support/api-client.js';
import { csvStream, recordsIn } from '../support/csv-lines.js';
import { ensureGpg, GpgHome } from '../support/gpg.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { peakRss, startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { startSftpServer, type SftpServer } from '../support/sftp-server.js';

const ORG = 'CF0019LRGE@AdobeOrg';
const SIZE = 1024 ** 3;
const FLOW_SERVICE = '/data/foundation/flowservice';

/**
 * A 1 GiB gpg file on the customer's SFTP server, taken by a scheduled run: streamed from the
 * server through the decryption into the encrypted store, with no local disk and flat memory in
 * the runtime (the landing-zone twin is ingestion-large.test.ts).
 */
describe('ingesting a 1 GiB file from an SFTP server', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let gpg: GpgHome;
  let sftp: SftpServer;

  beforeAll(async () => {
    ensureGpg();
    stack = await startLocalStack();
    sftp = await startSftpServer();
    runtime = await startRuntime({ ...stack.env, CIPHERFLOW_QUEUE_MAX_POLL_MS: '200', FLOW_SCHEDULE_SCHEDULE: '*/1 * * * * *' });
    gpg = await GpgHome.create();
  });
  afterAll(async () => {
    await runtime?.stop();
    await sftp?.stop();
    await stack?.stop();
    await gpg?.dispose();
  });

  it('decrypts and stores it with flat memory in the runtime', { timeout: 600_000 }, async () => {
    const api = new ApiClient(runtime.url, ORG);
    const key = await api.json<{ publicKey: string; publicKeyId: string }>('POST', '/data/foundation/connectors/encryption/keys', {
      name: 'large sftp',
      encryptionAlgorithm: 'PGP',
      params: { passPhrase: 'large file passphrase' },
    });
    await gpg.importKey(Buffer.from(key.publicKey, 'base64').toString('utf8'));

    // The customer's side: gpg encrypts the generated CSV as a stream into the server's folder.
    const folder = path.join(sftp.root, 'upload');
    const encrypted = path.join(folder, 'big.csv.gpg');
    const child = spawn('gpg', ['--homedir', gpg.dir, '--batch', '--yes', '--trust-model', 'always', '--compress-algo', 'none',
      '--encrypt', '--recipient', 'large sftp', '--output', encrypted], { stdio: ['pipe', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await pipeline(csvStream(SIZE), child.stdin);
    expect(await exited).toBe(0);
    const { uid, gid } = await stat(folder);
    await chown(encrypted, uid, gid);

    const connection = await api.json<{ id: string }>('POST', `${FLOW_SERVICE}/connections`, {
      name: 'large sftp',
      auth: { specName: 'Basic Authentication for sftp', params: { host: sftp.host, port: sftp.port, userName: sftp.userName, password: sftp.password, folderPath: '/upload' } },
      connectionSpec: { id: SFTP_CONNECTION_SPEC, version: '1.0' },
    });
    const [ref] = await api.json<string[]>('POST', '/data/foundation/catalog/dataSets', { name: 'large sftp' });
    const source = await api.json<{ id: string }>('POST', `${FLOW_SERVICE}/sourceConnections`, {
      name: 'large sftp', baseConnectionId: connection.id, data: { format: 'delimited' }, params: { path: '/big.csv.gpg' },
    });
    const target = await api.json<{ id: string }>('POST', `${FLOW_SERVICE}/targetConnections`, { name: 'large sftp', params: { dataSetId: ref?.split('/')[2] ?? '' } });
    const before = peakRss(runtime.child.pid ?? 0);
    const flow = await api.json<{ id: string }>('POST', `${FLOW_SERVICE}/flows`, {
      name: 'large sftp', sourceConnectionIds: [source.id], targetConnectionIds: [target.id],
      transformations: [{ name: 'Encryption', params: { publicKeyId: key.publicKeyId } }],
      scheduleParams: { frequency: 'once' },
    });
    const run = await waitForRun(api, flow.id, 'big.csv.gpg', { timeoutMs: 540_000 });
    const growth = peakRss(runtime.child.pid ?? 0) - before;
    process.stdout.write(`1 GiB ingestion from SFTP: ${run.metrics.durationMs} ms, runtime peak RSS growth ${(growth / 2 ** 20).toFixed(0)} MiB\n`);
    expect(run.status, JSON.stringify(run.errors)).toBe('success');
    expect(run.metrics.outputBytes).toBe(SIZE);
    expect(run.metrics.recordCount).toBe(recordsIn(SIZE));
    // Buffering the file anywhere would grow the runtime by about a GiB.
    expect(growth).toBeLessThan(200 * 1024 * 1024);
  });
});
