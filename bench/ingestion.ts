import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { waitForRun } from '../local/api-client.js';
import { GpgHome, ensureGpg } from '../local/gpg.js';
import { peakRss, startRuntime } from '../local/runtime-process.js';
import { startLocalStack, type LocalStack } from '../local/stack.js';
import { decryptStream } from '../shared/pgp/decrypt-stream.js';
import { generateKeyPair } from '../shared/pgp/generate-key-pair.js';
import { UPLOAD_BLOCK_BYTES, UPLOAD_CONCURRENCY } from '../shared/storage/encrypted-object-store.js';
import { encryptEnvelope } from '../shared/vault/envelope-stream.js';
import { csvSource } from './csv-source.js';
import { encryptCsvFile } from './gpg-files.js';
import { createIngestionFlow } from './ingestion-flow.js';
import { MB, MIB, rounded, timed } from './measure.js';
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

interface Ingested {
  readonly size: number;
  readonly landedBytes: number;
  /** Runtime peak RSS (VmHWM) after start and setup, before the file landed. */
  readonly baselineRssBytes: number;
  readonly peakRssBytes: number;
  readonly uploadSeconds: number;
  /** From the landing blob's upload completing to the finished run being listed (trigger poll included). */
  readonly landedToCommittedSeconds: number;
  /** The run's own duration (download, decrypt, encrypt, store, commit). */
  readonly runSeconds: number;
}

/**
 * Ingests one gpg-encrypted CSV of `size` bytes end to end through a fresh runtime (so its VmHWM
 * belongs to this file alone): landing upload, blob trigger, decryption, at-rest encryption,
 * upload to the objects container, committed batch.
 */
async function ingestOnce(
  stack: LocalStack,
  home: GpgHome,
  landing: ContainerClient,
  size: number,
  name: string,
): Promise<Ingested> {
  const org = `BENCH${name
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, '')
    .padEnd(5, '0')
    .slice(0, 5)}@AdobeOrg`;
  const runtime = await startRuntime({ ...stack.env, CIPHERFLOW_BLOB_POLL_MS: '100' });
  try {
    const flow = await createIngestionFlow(runtime.url, org, home, name);
    const file = await encryptCsvFile(home, flow.recipient, size, 'none', `${name}.csv.gpg`);
    const landedBytes = (await stat(file)).size;
    const pid = runtime.child.pid ?? 0;
    const baselineRssBytes = peakRss(pid);
    const blobName = `${flow.folder}/${name}.csv.gpg`;
    const t0 = performance.now();
    const uploaded = await landing
      .getBlockBlobClient(`${org}/prod/${blobName}`)
      .uploadFile(file, { blockSize: 8 * MIB, concurrency: 4 });
    const t1 = performance.now();
    const run = await waitForRun(flow.api, flow.flowId, blobName, { etag: uploaded.etag ?? '', timeoutMs: 600_000 });
    const t2 = performance.now();
    if (run.status !== 'success' || run.metrics.outputBytes !== size)
      throw new Error(`ingestion of ${name} did not succeed: ${JSON.stringify(run)}`);
    return {
      size,
      landedBytes,
      baselineRssBytes,
      peakRssBytes: peakRss(pid),
      uploadSeconds: (t1 - t0) / 1000,
      landedToCommittedSeconds: (t2 - t1) / 1000,
      runSeconds: run.metrics.durationMs / 1000,
    };
  } finally {
    await runtime.stop();
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
    const landing = BlobServiceClient.fromConnectionString(stack.azurite.connectionString).getContainerClient(
      'landing',
    );
    await landing.createIfNotExists();
    const small = await ingestOnce(stack, home, landing, options.smallSize, `mem${options.smallSize / MIB}`);
    options.log(
      `  ${options.smallSize / MIB} MiB: peak RSS ${(small.peakRssBytes / MIB).toFixed(0)} MiB, ${small.landedToCommittedSeconds.toFixed(1)} s`,
    );
    const large = await ingestOnce(stack, home, landing, options.largeSize, `mem${options.largeSize / MIB}`);
    options.log(
      `  ${options.largeSize / MIB} MiB: peak RSS ${(large.peakRssBytes / MIB).toFixed(0)} MiB, ${large.landedToCommittedSeconds.toFixed(1)} s`,
    );
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
    return [
      figure({
        id: '2a',
        name: `Runtime peak RSS ingesting ${options.largeSize / MIB} MiB end to end`,
        value: mib(large.peakRssBytes),
        unit: 'MiB',
        reference: { name: `same, ${options.smallSize / MIB} MiB file`, value: mib(small.peakRssBytes), unit: 'MiB' },
        target: { compare: 'value', op: '<=', bound: MEMORY_TARGET_BYTES / MIB },
        details: rounded({ small, large }),
      }),
      figure({
        id: '2b',
        name: `Peak RSS difference, ${options.largeSize / MIB} MiB vs ${options.smallSize / MIB} MiB file (flat memory)`,
        value: flatness,
        unit: '%',
        target: { compare: 'value', op: '<=', bound: 10 },
        details: rounded({ smallPeakMiB: mib(small.peakRssBytes), largePeakMiB: mib(large.peakRssBytes) }),
      }),
      figure({
        id: '3',
        name: `Ingestion throughput, landing blob → committed batch, ${options.largeSize / MIB} MiB on Azurite`,
        value: options.largeSize / MB / large.landedToCommittedSeconds,
        unit: 'MB/s',
        note,
        details: rounded({
          plaintextBytes: options.largeSize,
          landedToCommittedSeconds: large.landedToCommittedSeconds,
          runSeconds: large.runSeconds,
          landingUploadSeconds: large.uploadSeconds,
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
