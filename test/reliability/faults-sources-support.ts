import { chmod, chown, copyFile, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QueueClient } from '@azure/storage-queue';
import { expect } from 'vitest';
import { SFTP_CONNECTION_SPEC } from '../../shared/sources/connection-auth.js';
import type { ApiClient, Run } from '../support/api-client.js';
import type { GpgHome } from '../support/gpg.js';
import type { RuntimeProcess } from '../support/runtime-process.js';
import type { SftpServer } from '../support/sftp-server.js';
import { appEvents, deliveries, expectExactlyOnce, LANDING_EVENTS_POISON_QUEUE, until, type Delivery, type Flow } from './faults-support.js';

/**
 * The fault tests of scheduled dataflows over a customer's storage (issue 19): the customer's
 * set-up by API, files on the test SFTP server, and what the runtimes' logs say of scans and
 * file jobs. The scheduler, scans and file jobs share the landing events queue.
 */

const FLOW_SERVICE = '/data/foundation/flowservice';

/** The scheduler's timer every second, so a due run starts at once. */
export const EVERY_SECOND = { FLOW_SCHEDULE_SCHEDULE: '*/1 * * * * *', CIPHERFLOW_QUEUE_MAX_POLL_MS: '200' } as const;

export type Schedule = { readonly startTime: string; readonly frequency: 'once' | 'minute'; readonly interval?: string };

/** Due now, once. */
export const ONCE_NOW = (): Schedule => ({ startTime: String(Math.floor(Date.now() / 1000)), frequency: 'once' });

/** One of our PGP key pairs, named `{name} key`, its public half imported into the customer's gpg (the recipient). */
export interface FlowKey {
  readonly recipient: string;
  readonly publicKeyId: string;
}

/** Creates one of our key pairs for the customer to encrypt to. */
export async function createKey(api: ApiClient, gpg: GpgHome, name: string): Promise<FlowKey> {
  const recipient = `${name} key`;
  const key = await api.json<{ publicKey: string; publicKeyId: string }>('POST', '/data/foundation/connectors/encryption/keys', {
    name: recipient, encryptionAlgorithm: 'PGP', params: { passPhrase: `a passphrase for ${name}` },
  });
  await gpg.importKey(Buffer.from(key.publicKey, 'base64').toString('utf8'));
  return { recipient, publicKeyId: key.publicKeyId };
}

/** The customer's set-up journey for a scheduled flow over `path` of a base connection, into a dataset of its own. */
export async function createSourceFlow(api: ApiClient, name: string, key: FlowKey, baseConnectionId: string, path: string, schedule: Schedule, recursive = false): Promise<Flow> {
  const [ref] = await api.json<string[]>('POST', '/data/foundation/catalog/dataSets', { name });
  const dataSetId = ref?.split('/')[2] ?? '';
  const target = await api.json<{ id: string }>('POST', `${FLOW_SERVICE}/targetConnections`, { name, params: { dataSetId } });
  const source = await api.json<{ id: string }>('POST', `${FLOW_SERVICE}/sourceConnections`, {
    name, baseConnectionId, data: { format: 'delimited' }, params: { path, recursive: String(recursive) },
  });
  const flow = await api.json<{ id: string }>('POST', `${FLOW_SERVICE}/flows`, {
    name, sourceConnectionIds: [source.id], targetConnectionIds: [target.id],
    transformations: [{ name: 'Encryption', params: { publicKeyId: key.publicKeyId } }],
    scheduleParams: schedule,
  });
  return { flowId: flow.id, dataSetId, recipient: key.recipient };
}

/** A base connection to the test server's user folder, with a password. */
export async function sftpConnection(api: ApiClient, sftp: SftpServer): Promise<string> {
  return (await api.json<{ id: string }>('POST', `${FLOW_SERVICE}/connections`, {
    name: 'customer sftp',
    auth: {
      specName: 'Basic Authentication for sftp',
      params: { host: sftp.host, port: String(sftp.port), userName: sftp.userName, password: sftp.password, folderPath: '/upload' },
    },
    connectionSpec: { id: SFTP_CONNECTION_SPEC, version: '1.0' },
  })).id;
}

/**
 * Puts a file into the SFTP user's folder (`data`, or a copy of the local file `data.copyOf`), owned
 * by the user as an upload is; returns its version as the reader names it (`{mtime seconds}-{size}`).
 */
export async function putSftp(sftp: SftpServer, relative: string, data: Buffer | { readonly copyOf: string }): Promise<string> {
  const folder = join(sftp.root, 'upload');
  const { uid, gid } = await stat(folder);
  const path = join(folder, relative);
  for (let dir = join(path, '..'); dir.length > folder.length; dir = join(dir, '..')) {
    await mkdir(dir, { recursive: true });
    await chown(dir, uid, gid);
  }
  if (Buffer.isBuffer(data)) await writeFile(path, data);
  else await copyFile(data.copyOf, path);
  await chmod(path, 0o644);
  await chown(path, uid, gid);
  const written = await stat(path);
  return `${Math.floor(written.mtimeMs / 1000)}-${written.size}`;
}

/** The deliveries of one flow's file jobs (`source-file-outcome`) and scans (`source-scan-outcome`). */
export function sourceDeliveries(runtime: RuntimeProcess, flowId: string, event: 'source-file-outcome' | 'source-scan-outcome'): Delivery[] {
  return deliveries(runtime).filter((d) => d.events.some((e) => e.event === event && e.flowId === flowId));
}

/**
 * The deliveries of one flow's file jobs on the runtimes, once `count` of them have ended (a run
 * is visible as finished by API a moment before its invocation has logged its end).
 */
export function settledFileJobs(runtimes: readonly RuntimeProcess[], flowId: string, count: number): Promise<Delivery[]> {
  return until(`${count} file jobs ended`, () => {
    const jobs = runtimes.flatMap((r) => sourceDeliveries(r, flowId, 'source-file-outcome'));
    return Promise.resolve(jobs.length >= count && jobs.every((d) => d.outcome !== undefined) ? jobs : undefined);
  }, 10_000, 100);
}

/** The outcome events of one flow's scans on the runtimes: `{ tick, kind, enqueued, retried }`. */
export function scanOutcomes(runtimes: readonly RuntimeProcess[], flowId: string): Record<string, unknown>[] {
  return runtimes.flatMap((r) => appEvents(r, 'source-scan-outcome')).filter((e) => e.flowId === flowId);
}

/** Messages on the ingestion queue's poison queue (peeked, so they stay), as their text. */
export async function poisoned(connectionString: string): Promise<string[]> {
  const queue = new QueueClient(connectionString, LANDING_EVENTS_POISON_QUEUE);
  if (!(await queue.exists())) return [];
  const peeked = await queue.peekMessages({ numberOfMessages: 32 });
  return peeked.peekedMessageItems.map((m) => Buffer.from(m.messageText, 'base64').toString('utf8'));
}

/** A run recorded for a scheduled listing that failed (named `schedule-{tick}`), not for a file. */
export const isListingRun = (run: Run): boolean => run.blobETag.startsWith('schedule-');

/**
 * Every file's plaintext committed once: one finished run per (file, version) and no other file
 * run, each a success with its own batch and the plaintext's size, and the dataset holding exactly
 * those batches. @returns the file runs.
 */
export async function expectIngestedOnce(api: ApiClient, flow: Flow, versions: ReadonlyMap<string, string>, sizes: ReadonlyMap<string, number>): Promise<Run[]> {
  const runs = (await expectExactlyOnce(api, flow, versions)).filter((r) => !isListingRun(r));
  expect(runs.map((r) => r.fileName).sort()).toEqual([...versions.keys()].sort());
  for (const run of runs) expect(run.metrics.outputBytes, run.fileName).toBe(sizes.get(run.fileName));
  return runs;
}

