import { Readable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../shared/core/clock.js';
import { SourceError } from '../../shared/errors.js';
import { createBaseConnection, type BaseConnectionDeps } from '../../shared/flows/base-connections.js';
import { createFlow } from '../../shared/flows/flows.js';
import { listRuns } from '../../shared/flows/runs.js';
import { createSourceConnection, CreateSourceConnectionRequest } from '../../shared/flows/source-connections.js';
import { createTargetConnection } from '../../shared/flows/target-connections.js';
import { createDataset } from '../../shared/catalog/datasets.js';
import { scanSource } from '../../shared/ingestion/scan-source.js';
import { FILE_JOB, SCAN_JOB, type FileJob, type SourceJob } from '../../shared/ingestion/source-jobs.js';
import { recordRetry, WATERMARK_GRACE_MS } from '../../shared/ingestion/source-versions.js';
import { SFTP_CONNECTION_SPEC } from '../../shared/sources/connection-auth.js';
import type { SourceFile, SourceReader } from '../../shared/sources/source-reader.js';
import { MemoryObjectStore } from '../fakes/memory-objects.js';
import { MemoryTableService } from '../fakes/memory-tables.js';

const SCOPE = { orgId: 'CF0019SCAN@AdobeOrg', sandbox: 'prod' };
const ACTOR = { ...SCOPE, subject: 'tester', clientId: 'cipherflow-dev' };
const T0 = Date.UTC(2026, 11, 8, 9, 0, 0);

/** A customer's storage in memory: path → version, walked as a real reader would. */
class FakeStorage {
  readonly files = new Map<string, SourceFile>();
  failWith: SourceError | undefined;
  opened = 0;

  put(path: string, lastModified: number, version = `v${lastModified}`): void {
    this.files.set(path, { type: 'file', path, name: path.slice(path.lastIndexOf('/') + 1), size: 10, lastModified, version });
  }

  reader(): SourceReader {
    this.opened++;
    const fail = () => {
      if (this.failWith !== undefined) throw this.failWith;
    };
    const files = this.files;
    return {
      listFolder: () => {
        fail();
        return Promise.resolve({ entries: [] });
      },
      async *walk(folder, { recursive }) {
        fail();
        const prefix = folder === '' ? '' : `${folder}/`;
        if (folder !== '' && ![...files.keys()].some((p) => p.startsWith(prefix))) throw new SourceError('SOURCE_PATH_NOT_FOUND', 'no such folder');
        for (const file of [...files.values()]) {
          const rest = file.path.slice(prefix.length);
          if (file.path.startsWith(prefix) && (recursive || !rest.includes('/'))) yield await Promise.resolve(file);
        }
      },
      stat: (path) => {
        fail();
        return Promise.resolve(files.get(path));
      },
      open: () => Promise.resolve(Readable.from([])),
      close: () => Promise.resolve(),
    };
  }
}

describe('scanning a scheduled flow source', () => {
  let now: number;
  let storage: FakeStorage;
  let deps: BaseConnectionDeps;
  let queue: SourceJob[];
  let flowId: string;
  const clock: Clock = { now: () => now };

  async function newFlow(path: string, recursive = false): Promise<string> {
    const base = await createBaseConnection(deps, ACTOR, {
      name: 'sftp',
      auth: { specName: 'Basic Authentication for sftp', params: { host: 'sftp.example.com', userName: 'u', password: 'p' } },
      connectionSpec: { id: SFTP_CONNECTION_SPEC, version: '1.0' },
    });
    const source = await createSourceConnection(
      deps,
      ACTOR,
      CreateSourceConnectionRequest.parse({ name: 's', baseConnectionId: base.id, data: { format: 'delimited' }, params: { path, recursive } }),
    );
    const dataSet = await createDataset(deps, ACTOR, { name: 'd' });
    const target = await createTargetConnection(deps, ACTOR, { name: 't', params: { dataSetId: dataSet.id } });
    const flow = await createFlow(deps, ACTOR, {
      name: 'f',
      sourceConnectionIds: [source.id],
      targetConnectionIds: [target.id],
      transformations: [{ name: 'Encryption', params: { publicKeyId: 'k' } }],
      scheduleParams: { frequency: 'minute', interval: 1 },
    }, { encryptionKeyExists: () => Promise.resolve(true), customerKeyExists: () => Promise.resolve(true) });
    return flow.id;
  }

  async function scan(tick: number) {
    return scanSource({ connections: deps, enqueue: (job) => Promise.resolve(void queue.push(job)), clock, log: () => undefined }, { kind: SCAN_JOB, ...SCOPE, flowId, tick });
  }

  const enqueuedPaths = () => queue.filter((j): j is FileJob => j.kind === FILE_JOB).map((j) => `${j.path}@${j.version}`).sort();

  beforeEach(async () => {
    now = T0;
    storage = new FakeStorage();
    queue = [];
    deps = { tables: new MemoryTableService({ now: () => now }).factory(), clock, objects: new MemoryObjectStore(), openSource: () => storage.reader() };
    flowId = await newFlow('/in/*.csv.gpg');
  });

  it('enqueues each matching file version once: an unchanged file never again, a re-uploaded one again', async () => {
    storage.put('in/a.csv.gpg', T0 - 1000);
    storage.put('in/b.csv.gpg', T0 - 500);
    storage.put('in/skip.json.gpg', T0 - 500);
    storage.put('in/sub/deep.csv.gpg', T0 - 500);
    expect(await scan(T0)).toEqual({ kind: 'listed', enqueued: 2, retried: 0 });
    expect(enqueuedPaths()).toEqual([`in/a.csv.gpg@v${T0 - 1000}`, `in/b.csv.gpg@v${T0 - 500}`]);

    queue = [];
    expect(await scan(T0 + 60_000)).toEqual({ kind: 'listed', enqueued: 0, retried: 0 });

    storage.put('in/a.csv.gpg', T0 + 70_000);
    expect(await scan(T0 + 120_000)).toEqual({ kind: 'listed', enqueued: 1, retried: 0 });
    expect(enqueuedPaths()).toEqual([`in/a.csv.gpg@v${T0 + 70_000}`]);
  });

  it('skips a duplicate scan of a run already listed', async () => {
    storage.put('in/a.csv.gpg', T0);
    await scan(T0);
    expect(await scan(T0)).toEqual({ kind: 'skipped', reason: 'duplicate' });
    expect(queue).toHaveLength(1);
  });

  it('does not look up files older than the watermark less its grace period', async () => {
    storage.put('in/old.csv.gpg', T0 - 3 * WATERMARK_GRACE_MS);
    storage.put('in/new.csv.gpg', T0);
    await scan(T0);
    expect(queue).toHaveLength(2);
    // A file that appears with an old time (beyond the grace period) is taken as seen.
    storage.put('in/late-but-old.csv.gpg', T0 - 2 * WATERMARK_GRACE_MS);
    storage.put('in/late-within-grace.csv.gpg', T0 - WATERMARK_GRACE_MS / 2);
    queue = [];
    await scan(T0 + 60_000);
    expect(enqueuedPaths()).toEqual([`in/late-within-grace.csv.gpg@v${T0 - WATERMARK_GRACE_MS / 2}`]);
  });

  it('records a run that could not list with its code, keeps the watermark, and lists again next time', async () => {
    storage.put('in/a.csv.gpg', T0);
    storage.failWith = new SourceError('SOURCE_UNREACHABLE', 'The SFTP server did not answer');
    expect(await scan(T0)).toEqual({ kind: 'failed', code: 'SOURCE_UNREACHABLE' });
    expect(await scan(T0)).toEqual({ kind: 'failed', code: 'SOURCE_UNREACHABLE' });
    const runs = await listRuns(deps, SCOPE, flowId);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'failed', fileName: '/in/*.csv.gpg', blobETag: `schedule-${T0}`, errors: [{ code: 'SOURCE_UNREACHABLE' }] });
    storage.failWith = undefined;
    expect(await scan(T0 + 60_000)).toEqual({ kind: 'listed', enqueued: 1, retried: 0 });
  });

  it('enqueues the versions put aside (source or key unavailable mid-transfer) at the next run, once', async () => {
    const file: SourceFile = { type: 'file', path: 'in/a.csv.gpg', name: 'a.csv.gpg', size: 5, lastModified: T0, version: 'v1' };
    storage.put('in/readme.txt', T0);
    await recordRetry(deps.tables, SCOPE, { flowId, file, reason: 'SOURCE_UNREACHABLE' });
    expect(await scan(T0)).toEqual({ kind: 'listed', enqueued: 0, retried: 1 });
    expect(enqueuedPaths()).toEqual(['in/a.csv.gpg@v1']);
    expect(await scan(T0 + 60_000)).toEqual({ kind: 'listed', enqueued: 0, retried: 0 });
  });

  it('reads subfolders only when recursive, and a bare path as one file', async () => {
    storage.put('tree/a.csv', T0);
    storage.put('tree/x/b.csv', T0);
    storage.put('tree/x/y/c.csv', T0);
    flowId = await newFlow('/tree', true);
    await scan(T0);
    expect(enqueuedPaths()).toEqual([`tree/a.csv@v${T0}`, `tree/x/b.csv@v${T0}`, `tree/x/y/c.csv@v${T0}`]);
    queue = [];
    flowId = await newFlow('/tree', false);
    await scan(T0);
    expect(enqueuedPaths()).toEqual([`tree/a.csv@v${T0}`]);
    queue = [];
    flowId = await newFlow('/tree/x/b.csv');
    await scan(T0);
    expect(enqueuedPaths()).toEqual([`tree/x/b.csv@v${T0}`]);
  });
});
