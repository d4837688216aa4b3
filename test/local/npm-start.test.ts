import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { QueueClient } from '@azure/storage-queue';
import { afterAll, describe, expect, it } from 'vitest';
import { DEV_ACCOUNT, DEV_ACCOUNT_KEY, LANDING_ACCOUNT } from '../../local/azurite.js';
import { LANDING_EVENTS_QUEUE } from '../../local/landing-events.js';
import { ApiClient, type LandingZoneCredential } from '../support/api-client.js';
import { repoRoot } from '../support/runtime-process.js';

const ORG = 'CF0E2E5TAR@AdobeOrg';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** True when something accepts TCP connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** What `npm start` runs after the build: the launcher, here on free ports and a temporary state dir. */
describe('npm start (the local launcher)', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('prints the endpoints, serves /health with both dependencies up, takes uploads into a zone at once, and stops everything on SIGINT', { timeout: 90_000 }, async () => {
    const state = await mkdtemp(path.join(tmpdir(), 'cipherflow-start-'));
    dirs.push(state);
    const ports = {
      port: await freePort(), 'vault-port': await freePort(), 'identity-port': await freePort(), 'issuer-port': await freePort(),
      'blob-port': await freePort(), 'queue-port': await freePort(), 'table-port': await freePort(), 'landing-port': await freePort(),
    };
    const args = Object.entries(ports).flatMap(([k, v]) => [`--${k}`, String(v)]);
    const child = spawn(process.execPath, [path.join(repoRoot, 'dist', 'local', 'start.js'), ...args, '--state-dir', state], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    createInterface({ input: child.stderr }).on('line', (l) => output.push(l));
    const ready = new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        output.push(line);
        if (line.includes('Ctrl-C stops everything')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`launcher exited (${code}):\n${output.join('\n')}`)));
    });
    await ready;
    const printed = output.join('\n');
    for (const what of [
      'Azurite blob',
      `Landing blob   http://127.0.0.1:${ports['landing-port']}/${LANDING_ACCOUNT}`,
      `queue ${LANDING_EVENTS_QUEUE}`,
      'Key Vault',
      'Dev issuer',
      `API            http://127.0.0.1:${ports.port}`,
    ]) {
      expect(printed).toContain(what);
    }

    for (const port of Object.values(ports)) expect(await listening(port)).toBe(true);
    const internal = `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_ACCOUNT_KEY};` +
      `BlobEndpoint=http://127.0.0.1:${ports['blob-port']}/${DEV_ACCOUNT};QueueEndpoint=http://127.0.0.1:${ports['queue-port']}/${DEV_ACCOUNT};`;
    // The events queue exists from the start, as the infrastructure makes it in Azure; the shared
    // landing container of old is no longer made (each zone has a container of its own).
    expect(await new QueueClient(internal, LANDING_EVENTS_QUEUE).exists()).toBe(true);
    expect(await BlobServiceClient.fromConnectionString(internal).getContainerClient('landing').exists()).toBe(false);
    const res = await fetch(`http://127.0.0.1:${ports.port}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', dependencies: { storage: { status: 'up' }, keyVault: { status: 'up' } } });

    // A customer can write from the first minute: the zone's SAS names the landing endpoint, and an
    // upload there reaches the queue-triggered ingestion (which finds no flow for it).
    const api = new ApiClient(`http://127.0.0.1:${ports.port}`, ORG);
    const credential = await api.json<LandingZoneCredential>('GET', '/data/foundation/connectors/landingzone/credentials?type=user_drop_zone');
    expect(credential.SASUri.startsWith(`http://127.0.0.1:${ports['landing-port']}/${LANDING_ACCOUNT}/${credential.containerName}?`)).toBe(true);
    await new ContainerClient(credential.SASUri).getBlockBlobClient('incoming/first.csv.gpg').uploadData(Buffer.from('not yet a flow'));
    const deadline = Date.now() + 30_000;
    while (!output.some((l) => l.includes('no-matching-flow') && l.includes('incoming/first.csv.gpg'))) {
      if (Date.now() > deadline) throw new Error(`no ingestion outcome for the upload:\n${output.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    // Every service it started is gone: nothing listens on their ports any more.
    for (const port of Object.values(ports)) expect(await listening(port)).toBe(false);
  });
});
