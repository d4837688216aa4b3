import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlobServiceClient, type BlockBlobClient, type ContainerClient } from '@azure/storage-blob';
import { ApiClient, waitForRun } from '../local/api-client.js';
import { GpgHome, ensureGpg } from '../local/gpg.js';
import { peakRss, startRuntime } from '../local/runtime-process.js';
import { startLocalStack, type LocalStack } from '../local/stack.js';
import { decryptStream } from '../shared/pgp/decrypt-stream.js';
import { generateKeyPair } from '../shared/pgp/generate-key-pair.js';
import { UPLOAD_BLOCK_BYTES, UPLOAD_CONCURRENCY } from '../shared/storage/encrypted-object-store.js';
import { OBJECTS_CONTAINER } from '../shared/storage/object-path.js';
import { encryptEnvelope } from '../shared/vault/envelope-stream.js';
import { csvSource } from './csv-source.js';
import { encryptCsvFile } from './gpg-files.js';
import { createIngestionFlow, type IngestionFlow } from './ingestion-flow.js';
import { MB, MIB, medianBy, rounded, timed } from './measure.js';
import { drain } from './pgp-decrypt.js';
import { figure, type Figure } from './report.js';

export interface IngestionOptions {
  readonly smallSize: number;
  readonly largeSize: number;
  readonly log: (line: string) => void;
}

/** The stages are timed on at most this much data (per-byte costs do not depend on the size). */
const STAGE_SAMPLE_BYTES = 256 * MIB;
const MEMORY_TARGET_BYTES = 256 * MIB;

/**
 * Fresh runtimes (files) per size. One peak-RSS sample moves by about 10 % with where V8's
 * external-memory GC happens to fall, so figure 2 reports the median of these.
 */
const RUNS_PER_SIZE = 3;

/**
 * The runtime's longest wait between polls of the empty `landing-events` queue
 * (`CIPHERFLOW_QUEUE_MAX_POLL_MS`; the host's backoff starts at 100 ms and would grow to the local
 * default of 1 s). Figure 3's "upload done → run listed" includes the poll that finds the file's
 * BlobCreated event: capped, it is a fraction of a second of idle polling, not a second.
 */
const QUEUE_MAX_POLL_MS = 200;

/** A container of the internal account for figure 3's plain copy and the stage timings. */
const SCRATCH_CONTAINER = 'bench-scratch';

interface Prepared {
  readonly name: string;
  readonly org: string;
  readonly flow: IngestionFlow;
  readonly size: number;
  /** The gpg-encrypted CSV, landed once per run. */
  readonly file: string;
  readonly landedBytes: number;
}

interface Ingested {
  /** Runtime peak RSS (VmHWM) once started, before the file landed. */
  readonly baselineRssBytes: number;
  readonly peakRssBytes: number;
  readonly uploadSeconds: number;
  /**
   * From the upload into the landing zone completing to the finished run being listed: the queue
   * poll that finds its BlobCreated event (at most {@link QUEUE_MAX_POLL_MS}) and the run, included.
   */
  readonly landedToCommittedSeconds: number;
  /** The run's own duration (download, decrypt, encrypt, store, commit). */
  readonly runSeconds: number;
  /** Figure 3's reference: the same landed file copied as it is to the internal account. */
  readonly plainCopySeconds: number;
}

/** A flow of its own for one file size (set up through the API on a runtime of its own) and its gpg file. */
async function prepare(stack: LocalStack, home: GpgHome, size: number, name: string): Promise<Prepared> {
  const org = `BENCH${name
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, '')
    .padEnd(5, '0')
    .slice(0, 5)}@AdobeOrg`;
  const setup = await startRuntime(stack.env);
  try {
    const flow = await createIngestionFlow(setup.url, org, home, name);
    const file = await encryptCsvFile(home, flow.recipient, size, 'none', `${name}.csv.gpg`);
    return { name, org, flow, size, file, landedBytes: (await stat(file)).size };
  } finally {
    await setup.stop();
  }
}

/**
 * Ingests the prepared file end to end through a freshly started runtime (so its VmHWM belongs to
 * this file alone, as on a host that has just started): the customer's upload into the org's
 * landing zone with the API's SAS (through the local Event Grid), the BlobCreated event on the
 * `landing-events` queue, the queue trigger, decryption, at-rest encryption, upload to the objects
 * container, committed batch. Then, with the runtime stopped, figure 3's reference copies the same
 * landed file. The landed file and the stored object are deleted afterwards, so Azurite's memory
 * does not grow by the file every run.
 */
async function ingestOnce(
  stack: LocalStack,
  internal: BlobServiceClient,
  prepared: Prepared,
  run: number,
): Promise<Ingested> {
  const { flow, org, size } = prepared;
  const blobName = `${flow.folder}/${prepared.name}-${run}.csv.gpg`;
  const blob = flow.zone.getBlockBlobClient(blobName);
  try {
    const runtime = await startRuntime({ ...stack.env, CIPHERFLOW_QUEUE_MAX_POLL_MS: String(QUEUE_MAX_POLL_MS) });
    let measured: Omit<Ingested, 'plainCopySeconds'>;
    try {
      const pid = runtime.child.pid ?? 0;
      const baselineRssBytes = peakRss(pid);
      const t0 = performance.now();
      const uploaded = await blob.uploadFile(prepared.file, { blockSize: 8 * MIB, concurrency: 4 });
      const t1 = performance.now();
      const api = new ApiClient(runtime.url, org);
      const done = await waitForRun(api, flow.flowId, blobName, { etag: uploaded.etag ?? '', timeoutMs: 600_000 });
      const t2 = performance.now();
      if (done.status !== 'success' || done.metrics.outputBytes !== size)
        throw new Error(`ingestion of ${blobName} did not succeed: ${JSON.stringify(done)}`);
      measured = {
        baselineRssBytes,
        peakRssBytes: peakRss(pid),
        uploadSeconds: (t1 - t0) / 1000,
        landedToCommittedSeconds: (t2 - t1) / 1000,
        runSeconds: done.metrics.durationMs / 1000,
      };
    } finally {
      await runtime.stop();
    }
    return { ...measured, plainCopySeconds: await plainCopySeconds(blob, internal) };
  } finally {
    await blob.deleteIfExists();
    // The org's only object of at least the file's size is the one just ingested (keys are KiBs).
    const objects = internal.getContainerClient(OBJECTS_CONTAINER);
    for await (const item of objects.listBlobsFlat({ prefix: `${org}/prod/` })) {
      if ((item.properties.contentLength ?? 0) >= size) await objects.deleteBlob(item.name);
    }
  }
}

/**
 * Figure 3's reference: the landed file streamed as it is, with no crypto, from the landing zone
 * (through the local Event Grid, the runtime's way in) to a blob of the internal account with the
 * object store's block size and concurrency. What an ingestion would take if decryption and
 * at-rest encryption cost nothing.
 */
async function plainCopySeconds(landed: BlockBlobClient, internal: BlobServiceClient): Promise<number> {
  const copy = internal.getContainerClient(SCRATCH_CONTAINER).getBlockBlobClient('plain-copy.bin');
  const timing = await timed(async () => {
    const body = (await landed.download(0, undefined, { maxRetryRequests: 5 })).readableStreamBody;
    if (body === undefined) throw new Error('no download body');
    await copy.uploadStream(body as Readable, UPLOAD_BLOCK_BYTES, UPLOAD_CONCURRENCY);
  });
  await copy.delete();
  return timing.wallSeconds;
}

/**
 * The stages of ingestion, each alone on the same kind of data, to show where the end-to-end time
 * goes: PGP decryption of a gpg file (read from disk), at-rest envelope encryption (ESDK, 1 MiB
 * frames), and storage I/O on Azurite (the download from the landing zone through the local Event
 * Grid, plus the object upload to the internal account with the store's block size and
 * concurrency).
 */
async function stageSeconds(home: GpgHome, zone: ContainerClient, internal: BlobServiceClient, size: number) {
  const passphrase = 'stage benchmark passphrase';
  const key = await generateKeyPair({ name: 'stages', passphrase });
  await home.importKey(key.publicKeyArmored);
  const file = await encryptCsvFile(home, 'stages', size, 'none', 'stages.csv.gpg');
  const decrypt = await timed(async () => {
    const { plaintext, result } = await decryptStream(createReadStream(file), {
      privateKeyArmored: key.privateKeyArmored,
      passphrase,
    });
    await pipeline(plaintext, drain());
    await result;
  });
  // Generated before timing (the generator itself runs at ~50 MB/s), then repeated in 1 MiB chunks.
  const parts: Buffer[] = [];
  for await (const part of csvSource(8 * MIB)) parts.push(part as Buffer);
  const block = Buffer.concat(parts);
  const chunks = function* (): Generator<Buffer> {
    for (let offset = 0; offset < size; offset += MIB) {
      const start = offset % block.length;
      yield block.subarray(start, start + Math.min(MIB, size - offset));
    }
  };
  const encrypt = await timed(() =>
    pipeline(
      Readable.from(chunks()),
      encryptEnvelope(randomBytes(32), { orgId: 'BENCH@AdobeOrg', sandbox: 'prod', objectId: 'stage' }),
      drain(),
    ),
  );
  const object = internal.getContainerClient(SCRATCH_CONTAINER).getBlockBlobClient('stage.bin');
  const upload = await timed(async () => {
    await object.uploadStream(createReadStream(file), UPLOAD_BLOCK_BYTES, UPLOAD_CONCURRENCY);
  });
  await object.delete();
  // Matches no flow: its BlobCreated event, if a runtime ever saw it, would be ignored.
  const landed = zone.getBlockBlobClient('stages/stage.bin');
  await landed.uploadFile(file, { blockSize: 8 * MIB, concurrency: 4 });
  const download = await timed(async () => {
    const body = (await landed.download(0, undefined, { maxRetryRequests: 5 })).readableStreamBody;
    if (body === undefined) throw new Error('no download body');
    await pipeline(body as Readable, drain());
  });
  await landed.delete();
  return { sampleBytes: size, decrypt, encrypt, upload, download };
}

/** Figures 2 (peak RSS, flatness) and 3 (end-to-end throughput and where its time goes). */
export async function ingestionFigures(options: IngestionOptions): Promise<Figure[]> {
  ensureGpg();
  const stack = await startLocalStack();
  const home = await GpgHome.create();
  try {
    // The internal account (objects, scratch); landed files go in through each flow's zone SAS.
    const internal = BlobServiceClient.fromConnectionString(stack.azurite.connectionString);
    await internal.getContainerClient(SCRATCH_CONTAINER).createIfNotExists();
    const runsOf = async (prepared: Prepared): Promise<Ingested[]> => {
      const { size } = prepared;
      const runs: Ingested[] = [];
      for (let i = 0; i < RUNS_PER_SIZE; i++) {
        const run = await ingestOnce(stack, internal, prepared, i);
        options.log(
          `  ${size / MIB} MiB #${i + 1}: peak RSS ${(run.peakRssBytes / MIB).toFixed(0)} MiB, ${run.landedToCommittedSeconds.toFixed(1)} s (plain copy ${run.plainCopySeconds.toFixed(1)} s)`,
        );
        runs.push(run);
      }
      return runs;
    };
    const smallPrepared = await prepare(stack, home, options.smallSize, `mem${options.smallSize / MIB}`);
    const smallRuns = await runsOf(smallPrepared);
    const largePrepared = await prepare(stack, home, options.largeSize, `mem${options.largeSize / MIB}`);
    const largeRuns = await runsOf(largePrepared);
    const small = medianBy(smallRuns, (r) => r.peakRssBytes);
    const large = medianBy(largeRuns, (r) => r.peakRssBytes);
    const typical = medianBy(largeRuns, (r) => r.landedToCommittedSeconds);
    const typicalCopy = medianBy(largeRuns, (r) => r.plainCopySeconds);
    const stages = await stageSeconds(
      home,
      largePrepared.flow.zone,
      internal,
      Math.min(options.largeSize, STAGE_SAMPLE_BYTES),
    );
    const perByte = {
      decryption: stages.decrypt.wallSeconds,
      atRestEncryption: stages.encrypt.wallSeconds,
      storageIo: stages.upload.wallSeconds + stages.download.wallSeconds,
    };
    const total = perByte.decryption + perByte.atRestEncryption + perByte.storageIo;
    const share = (s: number): number => (100 * s) / total;
    const shares = {
      decryption: share(perByte.decryption),
      atRestEncryption: share(perByte.atRestEncryption),
      storageIo: share(perByte.storageIo),
    };
    const note = `decrypt ${shares.decryption.toFixed(0)}% · at-rest encrypt ${shares.atRestEncryption.toFixed(0)}% · storage I/O ${shares.storageIo.toFixed(0)}% (stages timed alone); queue poll capped at ${QUEUE_MAX_POLL_MS} ms`;
    options.log(`  stages: ${note}`);
    const flatness = (100 * Math.abs(large.peakRssBytes - small.peakRssBytes)) / small.peakRssBytes;
    const mib = (b: number): number => b / MIB;
    const spread = (runs: readonly Ingested[]): string => {
      const peaks = runs.map((r) => mib(r.peakRssBytes));
      return `${Math.min(...peaks).toFixed(0)}–${Math.max(...peaks).toFixed(0)} MiB`;
    };
    const medianNote = `median of ${RUNS_PER_SIZE} fresh runtimes each; peaks ${options.largeSize / MIB} MiB: ${spread(largeRuns)}, ${options.smallSize / MIB} MiB: ${spread(smallRuns)}`;
    return [
      figure({
        id: '2a',
        name: `Runtime peak RSS ingesting ${options.largeSize / MIB} MiB end to end`,
        value: mib(large.peakRssBytes),
        unit: 'MiB',
        reference: { name: `same, ${options.smallSize / MIB} MiB file`, value: mib(small.peakRssBytes), unit: 'MiB' },
        target: { compare: 'value', op: '<=', bound: MEMORY_TARGET_BYTES / MIB },
        note: medianNote,
        details: rounded({ landedBytes: { small: smallPrepared.landedBytes, large: largePrepared.landedBytes }, smallRuns, largeRuns }),
      }),
      figure({
        id: '2b',
        name: `Peak RSS difference, ${options.largeSize / MIB} MiB vs ${options.smallSize / MIB} MiB file (flat memory)`,
        value: flatness,
        unit: '%',
        target: { compare: 'value', op: '<=', bound: 10 },
        note: `between the medians of figure 2a`,
        details: rounded({ smallPeakMiB: mib(small.peakRssBytes), largePeakMiB: mib(large.peakRssBytes) }),
      }),
      figure({
        id: '3',
        name: `Ingestion throughput, landing zone upload → committed batch, ${options.largeSize / MIB} MiB on Azurite (median of ${RUNS_PER_SIZE})`,
        value: options.largeSize / MB / typical.landedToCommittedSeconds,
        unit: 'MB/s',
        reference: {
          name: 'plain streaming copy, landing zone → internal account, same block size and concurrency',
          value: largePrepared.landedBytes / MB / typicalCopy.plainCopySeconds,
          unit: 'MB/s',
        },
        note,
        details: rounded({
          plaintextBytes: options.largeSize,
          medianOfRuns: RUNS_PER_SIZE,
          landedToCommittedSeconds: typical.landedToCommittedSeconds,
          runSeconds: typical.runSeconds,
          landingUploadSeconds: typical.uploadSeconds,
          queueMaxPollMs: QUEUE_MAX_POLL_MS,
          plainCopy: {
            landedBytes: largePrepared.landedBytes,
            medianSeconds: typicalCopy.plainCopySeconds,
            blockBytes: UPLOAD_BLOCK_BYTES,
            concurrency: UPLOAD_CONCURRENCY,
          },
          stageSharesPercent: shares,
          stagesOnSample: {
            sampleBytes: stages.sampleBytes,
            decryptMBps: stages.sampleBytes / MB / stages.decrypt.wallSeconds,
            atRestEncryptMBps: stages.sampleBytes / MB / stages.encrypt.wallSeconds,
            objectUploadMBps: stages.sampleBytes / MB / stages.upload.wallSeconds,
            landingDownloadMBps: stages.sampleBytes / MB / stages.download.wallSeconds,
            timings: {
              decrypt: stages.decrypt,
              encrypt: stages.encrypt,
              upload: stages.upload,
              download: stages.download,
            },
          },
        }),
      }),
    ];
  } finally {
    await home.dispose();
    await stack.stop();
  }
}
