import { availableParallelism } from 'node:os';
import type { ReadableStream } from 'node:stream/web';
import { workerModuleUrl } from '../core/worker-module.js';
import { createSlots, transformInWorker } from '../core/worker-transform.js';

/** The limits of one inflate, as OpenPGP.js's config states them (see `config.ts`). */
export interface Bzip2Limits {
  readonly maxDecompressedBytes: number;
  readonly maxDecompressionRatio: number;
  readonly decompressionRatioExemptBytes: number;
}

/**
 * bzip2 inflates running at once, for the whole process (this and the ingestion's
 * `compressionType: bzip2`); more wait for one to end. Each holds a block's work memory (3.6 MB).
 */
export const BZIP2_WORKER_SLOTS = createSlots(Math.max(1, availableParallelism() - 1));
/** Heap of a bzip2 worker: a block's work array and a few output chunks. */
export const BZIP2_WORKER_HEAP_MB = 64;

/**
 * Inflates a BZip2 Compressed Data packet in a worker thread, with OpenPGP.js's own inflater and
 * our patch's limits (`shared/pgp/lib/bzip2-worker.ts`). The decoder works a block at a time, and a
 * block (up to 900 kB compressed, 45 MiB inflated) is decoded in one go: 100+ ms of JS that, on
 * the thread serving HTTP, stalls every request of every tenant. Errors keep the library's
 * messages and counts (`Maximum decompression ratio exceeded`, `Maximum decompressed size
 * exceeded`), so callers tell them apart as before. Set as OpenPGP.js's `config.decompressBzip2`
 * (our patch's hook).
 */
export function inflateBzip2InWorker(input: ReadableStream<Uint8Array>, limits: Bzip2Limits): ReadableStream<Uint8Array> {
  return transformInWorker(input, {
    script: workerModuleUrl(import.meta.url, './lib/bzip2-worker.js', 2),
    init: limits,
    slots: BZIP2_WORKER_SLOTS,
    resourceLimits: { maxOldGenerationSizeMb: BZIP2_WORKER_HEAP_MB },
  });
}
