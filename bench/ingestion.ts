import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
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
  /** From the landing blob's upload completing to the finished run being listed (trigger poll included). */
  readonly landedToCommittedSeconds: number;
  /** The run's own duration (download, decrypt, encrypt, store, commit). */
  readonly runSeconds: number;
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
 * this file alone, as on a host that has just started): landing upload, blob trigger, decryption,
 * at-rest encryption, upload to the objects container, committed batch. The landing blob and the
 * stored object are deleted afterwards, so Azurite's memory does not grow by the file every run.
 */
async function ingestOnce(stack: LocalStack, blobs: BlobServiceClient, prepared: Prepared, run: number): Promise<Ingested> {
  const { flow, org, size } = prepared;
  const landing = blobs.getContainerClient('landing');
  const runtime = await startRuntime({ ...stack.env, CIPHERFLOW_BLOB_POLL_MS: '100' });
  const blobName = `${flow.folder}/${prepared.name}-${run}.csv.gpg`;
  const blob = landing.getBlockBlobClient(`${org}/prod/${blobName}`);
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
    return {
      baselineRssBytes,
      peakRssBytes: peakRss(pid),
      uploadSeconds: (t1 - t0) / 1000,
      landedToCommittedSeconds: (t2 - t1) / 1000,
      runSeconds: done.metrics.durationMs / 1000,
    };
  } finally {
    await runtime.stop();
    await blob.deleteIfExists();
    // The org's only object of at least the file's size is the one just ingested (keys are KiBs).
    const objects = blobs.getContainerClient(OBJECTS_CONTAINER);
    for await (const item of objects.listBlobsFlat({ prefix: `${org}/prod/` })) {
      if ((item.properties.contentLength ?? 0) >= size) await objects.deleteBlob(item.name);
    }
  }
}

/**
 * The stages of ingestion, each alone on the same kind of data, to show where the end-to-end time
 * goes: PGP decryption of a gpg file (read from disk), at-rest envelope encryption (ESDK, 1 MiB
 * frames), and storage I/O on Azurite (the landing download plus the object upload with the
 * store's block size and concurrency).
 */
async function stageSeconds(home: GpgHome, landing: ContainerClient, size: number) {
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
  const blob = landing.getBlockBlobClient('stages/stage.bin');
  const upload = await timed(async () => {
    await blob.uploadStream(createReadStream(file), UPLOAD_BLOCK_BYTES, UPLOAD_CONCURRENCY);
  });
  const download = await timed(async () => {
    const body = (await blob.download(0, undefined, { maxRetryRequests: 5 })).readableStreamBody;
    if (body === undefined) throw new Error('no download body');
    await pipeline(body as Readable, drain());
  });
  await blob.delete();
  return { sampleBytes: size, decrypt, encrypt, upload, download };
}

/** Figures 2 (peak RSS, flatness) and 3 (end-to-end throughput and where its time goes). */
export async function ingestionFigures(options: IngestionOptions): Promise<Figure[]> {
  ensureGpg();
  const stack = await startLocalStack();
  const home = await GpgHome.create();
  try {
    const blobs = BlobServiceClient.fromConnectionString(stack.azurite.connectionString);
    const landing = blobs.getContainerClient('landing');
    await landing.createIfNotExists();
    const runsOf = async (prepared: Prepared): Promise<Ingested[]> => {
      const { size } = prepared;
      const runs: Ingested[] = [];
      for (let i = 0; i < RUNS_PER_SIZE; i++) {
        const run = await ingestOnce(stack, blobs, prepared, i);
        options.log(
          `  ${size / MIB} MiB #${i + 1}: peak RSS ${(run.peakRssBytes / MIB).toFixed(0)} MiB, ${run.landedToCommittedSeconds.toFixed(1)} s`,
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
    const stages = await stageSeconds(home, landing, Math.min(options.largeSize, STAGE_SAMPLE_BYTES));
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
    const note = `decrypt ${shares.decryption.toFixed(0)}% · at-rest encrypt ${shares.atRestEncryption.toFixed(0)}% · storage I/O ${shares.storageIo.toFixed(0)}% (stages timed alone)`;
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
        name: `Ingestion throughput, landing blob → committed batch, ${options.largeSize / MIB} MiB on Azurite (median of ${RUNS_PER_SIZE})`,
        value: options.largeSize / MB / typical.landedToCommittedSeconds,
        unit: 'MB/s',
        note,
        details: rounded({
          plaintextBytes: options.largeSize,
          medianOfRuns: RUNS_PER_SIZE,
          landedToCommittedSeconds: typical.landedToCommittedSeconds,
          runSeconds: typical.runSeconds,
          landingUploadSeconds: typical.uploadSeconds,
          stageSharesPercent: shares,
          stagesOnSample: {
            sampleBytes: stages.sampleBytes,
            decryptMBps: stages.sampleBytes / MB / stages.decrypt.wallSeconds,
            atRestEncryptMBps: stages.sampleBytes / MB / stages.encrypt.wallSeconds,
            blobUploadMBps: stages.sampleBytes / MB / stages.upload.wallSeconds,
            blobDownloadMBps: stages.sampleBytes / MB / stages.download.wallSeconds,
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
