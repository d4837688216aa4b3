import { once } from 'node:events';
import { createRequire } from 'node:module';
import { Duplex } from 'node:stream';
import { ReadableStream } from 'node:stream/web';
import { createGunzip } from 'node:zlib';
import { Unzip, UnzipInflate, type UnzipFile } from 'fflate';
import type { CompressionType } from '../flows/source-connections.js';
import { workerModuleUrl } from '../core/worker-module.js';
import { transformInWorker } from '../core/worker-transform.js';
import { BZIP2_WORKER_HEAP_MB, BZIP2_WORKER_SLOTS } from '../pgp/bzip2-inflate.js';
import { compressionAllowance, MAX_COMPRESSION_RATIO } from '../pgp/config.js';
import { RunFailure } from './run-failure.js';

/**
 * Most input handed to the zip inflater at a time (fflate inflates a whole push at once; smaller
 * pushes cost throughput: 128 MiB of CSV took 1.9 s in 16 KiB pushes, 4.1 s in 2 KiB ones).
 */
const ZIP_SLICE_BYTES = 16 * 1024;

/** DEFLATE's largest expansion: 258 bytes from a 2-bit code (RFC 1951), ~1032:1. */
const MAX_DEFLATE_RATIO = 1032;

/** How far past a limit a zip entry may inflate before it is checked (sets the push size). */
const ZIP_OVERSHOOT_BYTES = 1024 * 1024;

/** Output chunks of the gzip inflater: the granularity of its checks. */
const GZIP_OUT_BYTES = 128 * 1024;

/** Output buffer of the bzip2 block decoder; a block (≤ ~46 MiB) is handed on in these pieces. */
const BZIP2_OUT_BYTES = 1024 * 1024;

/**
 * Returns the stage that decompresses a decrypted plaintext whose source connection names a
 * `compressionType`. Every stage streams in flat memory with back pressure, and a bomb is stopped
 * as it inflates, within about a MiB of the first limit it passes: `maxBytes` of
 * output, or `maxRatio` bytes of output per compressed byte consumed so far (checked once the
 * output passes `COMPRESSION_RATIO_EXEMPT_BYTES`).
 *
 * - `gzip`: node:zlib (concatenated members included).
 * - `bzip2`: the block decoder of `unbzip2-stream`, driven one block at a time (its own stream
 *   decodes every buffered block at once, without back pressure), in a worker thread.
 *   Concatenated streams (pbzip2) included.
 * - `zip`: fflate's streaming `Unzip` (stored and DEFLATE entries, data descriptors, Zip64).
 *   Exactly one file per archive: directory entries and macOS `__MACOSX/` metadata are skipped,
 *   a second file fails the run, as a CSV split over several entries has no single meaning.
 *
 * Stages fail with RunFailure `DECOMPRESSION_FAILED`, `FILE_TOO_LARGE` or
 * `COMPRESSION_RATIO_EXCEEDED`; the gzip stage fails with zlib's own error on corrupt data, which
 * {@link asDecompressionFailure} maps.
 */
export function decompressor(type: CompressionType, maxBytes: number, maxRatio = MAX_COMPRESSION_RATIO): Duplex {
  const limits = outputLimits(maxBytes, maxRatio);
  switch (type) {
    case 'gzip':
      return Duplex.from((source: AsyncIterable<Buffer>) => gunzip(source, limits));
    case 'bzip2':
      return Duplex.from((source: AsyncIterable<Buffer>) => bunzip2InWorker(source, maxBytes, maxRatio));
    case 'zip':
      return Duplex.from((source: AsyncIterable<Buffer>) => unzipOne(source, limits));
  }
}

/** A zlib error after decryption succeeded means the plaintext is not what compressionType says. */
export function asDecompressionFailure(err: unknown): unknown {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (typeof code === 'string' && code.startsWith('Z_')) {
    return new RunFailure('DECOMPRESSION_FAILED', 'The decrypted file is not valid for its compressionType.', {
      cause: err,
    });
  }
  return err;
}

const corrupt = (type: CompressionType, cause?: unknown) =>
  new RunFailure('DECOMPRESSION_FAILED', `The decrypted file is not a valid ${type} file.`, { cause });
const tooLarge = (maxBytes: number) =>
  new RunFailure('FILE_TOO_LARGE', `The decompressed file is larger than the limit of ${maxBytes} bytes.`);
/** The counts go to internal logs (the cause), and let tests see how far a bomb got. */
const ratioExceeded = (maxRatio: number, decompressedBytes: number, compressedBytes: number) =>
  new RunFailure(
    'COMPRESSION_RATIO_EXCEEDED',
    `The file decompresses to more than ${maxRatio} times its compressed size, the limit (MAX_COMPRESSION_RATIO).`,
    { cause: Object.assign(new Error('Maximum decompression ratio exceeded'), { decompressedBytes, compressedBytes }) },
  );

/** The output limits of one inflate, given what it has produced and the compressed bytes it has consumed. */
export interface OutputLimits {
  /** The failure, if past a limit. */
  check(produced: number, consumed: number): RunFailure | undefined;
  /** Output still allowed (negative: past a limit). */
  headroom(produced: number, consumed: number): number;
}

export function outputLimits(maxBytes: number, maxRatio: number): OutputLimits {
  return {
    check(produced, consumed) {
      if (produced > maxBytes) return tooLarge(maxBytes);
      if (produced > compressionAllowance(maxRatio, consumed)) return ratioExceeded(maxRatio, produced, consumed);
      return undefined;
    },
    headroom: (produced, consumed) => Math.min(maxBytes, compressionAllowance(maxRatio, consumed)) - produced,
  };
}

/** node:zlib's gunzip, counting what it consumes (`bytesWritten`) and produces. */
async function* gunzip(source: AsyncIterable<Buffer>, limits: OutputLimits): AsyncGenerator<Buffer> {
  const inflater = createGunzip({ chunkSize: GZIP_OUT_BYTES });
  const stop = new AbortController();
  const feeding = (async () => {
    for await (const chunk of source) {
      if (!inflater.write(chunk)) await once(inflater, 'drain', { signal: stop.signal });
    }
    inflater.end();
  })().catch((err: unknown) => {
    // The source failed (or we stopped): the inflater's reader below ends with that error.
    inflater.destroy(err instanceof Error ? err : new Error('input failed', { cause: err }));
  });
  let produced = 0;
  try {
    for await (const chunk of inflater as AsyncIterable<Buffer>) {
      produced += chunk.length;
      const failure = limits.check(produced, inflater.bytesWritten);
      if (failure !== undefined) throw failure;
      yield chunk;
    }
  } finally {
    stop.abort();
    inflater.destroy();
  }
  await feeding;
}

async function* unzipOne(source: AsyncIterable<Buffer>, limits: OutputLimits): AsyncGenerator<Uint8Array> {
  const unzip = new Unzip();
  unzip.register(UnzipInflate);
  const output: Uint8Array[] = [];
  let failure: RunFailure | undefined;
  let files = 0;
  let complete = false;
  let bytes = 0;
  let consumed = 0;
  unzip.onfile = (file: UnzipFile) => {
    if (file.name.endsWith('/') || file.name.startsWith('__MACOSX/')) {
      // Started and discarded: an entry never started is buffered by fflate.
      file.ondata = () => undefined;
      file.start();
      return;
    }
    files++;
    if (files > 1) {
      failure ??= new RunFailure('DECOMPRESSION_FAILED', 'A zip archive must hold exactly one file.');
      return;
    }
    file.ondata = (err, data, final) => {
      if (err !== null) {
        failure ??= corrupt('zip', err);
        return;
      }
      bytes += data.length;
      const over = limits.check(bytes, consumed);
      if (over !== undefined) failure ??= over;
      else if (data.length > 0) output.push(data);
      if (final) complete = true;
    };
    file.start();
  };
  const push = (chunk: Uint8Array, final: boolean) => {
    consumed += chunk.length;
    try {
      unzip.push(chunk, final);
    } catch (err) {
      failure ??= corrupt('zip', err);
    }
    if (failure !== undefined) throw failure;
  };

  for await (const chunk of source) {
    for (let offset = 0; offset < chunk.length; ) {
      // Small enough that even DEFLATE's largest expansion stays within a MiB past the limits.
      const room = limits.headroom(bytes, consumed) + ZIP_OVERSHOOT_BYTES;
      const slice = Math.max(1024, Math.min(ZIP_SLICE_BYTES, Math.floor(room / MAX_DEFLATE_RATIO)));
      push(chunk.subarray(offset, offset + slice), false);
      offset += slice;
      yield* output.splice(0);
    }
  }
  push(new Uint8Array(0), true);
  yield* output.splice(0);
  if (files === 0)
    throw new RunFailure('DECOMPRESSION_FAILED', 'The decrypted file is not a zip archive holding a file.');
  if (!complete) throw corrupt('zip');
}

/** `unbzip2-stream`'s block decoder (`lib/bzip2.js`) and bit reader, as far as we use them. */
interface Bzip2Decoder {
  /** Reads a stream header (`BZh1`..`BZh9`), returning the block size in 100 kB units. */
  header(bits: BitReader): number;
  /**
   * Decodes one block, calling `write` per output byte; returns the running stream CRC, or
   * `null` at the end-of-stream marker (after checking the stream CRC).
   */
  decompress(
    bits: BitReader,
    write: (byte: number) => void,
    buf: Int32Array,
    bufsize: number,
    streamCRC: number | null,
  ): number | null;
}
interface BitReader {
  (n: number | null): number;
  bytesRead: number;
}
type BitReaderFactory = (next: () => Uint8Array | undefined) => BitReader;

// unbzip2-stream has no typings and exports only its stream; its block decoder is plain CommonJS.
const require = createRequire(import.meta.url);
const bzip2 = require('unbzip2-stream/lib/bzip2.js') as Bzip2Decoder;
const bitIterator = require('unbzip2-stream/lib/bit_iterator.js') as BitReaderFactory;

/** Input kept before a block is decoded: a whole compressed block fits (unbzip2-stream's margin). */
const bzip2BlockInput = (blockSize: number) => 25_000 + 100_000 * blockSize;

/**
 * {@link bunzip2} in a worker thread (`lib/bunzip2-worker.ts`): a block decodes in one go, 100+ ms
 * of JS that would stall every request on the thread serving HTTP. Failures come back as the same
 * RunFailures.
 */
async function* bunzip2InWorker(source: AsyncIterable<Buffer>, maxBytes: number, maxRatio: number): AsyncGenerator<Buffer> {
  const output = transformInWorker(ReadableStream.from(source), {
    script: workerModuleUrl(import.meta.url, './lib/bunzip2-worker.js', 2),
    init: { maxBytes, maxRatio } satisfies Bunzip2Init,
    slots: BZIP2_WORKER_SLOTS,
    resourceLimits: { maxOldGenerationSizeMb: BZIP2_WORKER_HEAP_MB },
  });
  try {
    for await (const chunk of output) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  } catch (err) {
    const code: unknown = err instanceof Error ? Reflect.get(err, 'code') : undefined;
    const count = (name: string): number => {
      const value: unknown = err instanceof Error ? Reflect.get(err, name) : undefined;
      return typeof value === 'number' ? value : 0;
    };
    if (code === 'COMPRESSION_RATIO_EXCEEDED') throw ratioExceeded(maxRatio, count('decompressedBytes'), count('compressedBytes'));
    if (code === 'FILE_TOO_LARGE') throw tooLarge(maxBytes);
    if (code === 'DECOMPRESSION_FAILED') throw corrupt('bzip2', err);
    throw err;
  }
}

/** What {@link bunzip2InWorker} starts its worker with. */
export interface Bunzip2Init {
  readonly maxBytes: number;
  readonly maxRatio: number;
}

/**
 * Inflates bzip2 (concatenated streams included) a block at a time, within `limits`. Runs in the
 * bzip2 worker (`lib/bunzip2-worker.ts`), never on the thread serving HTTP.
 *
 * @throws RunFailure `DECOMPRESSION_FAILED`, `FILE_TOO_LARGE`, `COMPRESSION_RATIO_EXCEEDED`
 */
export async function* bunzip2(source: AsyncIterable<Uint8Array>, limits: OutputLimits): AsyncGenerator<Buffer> {
  const queue: Uint8Array[] = [];
  let buffered = 0;
  let bits: BitReader | undefined;
  let blockSize = 0;
  let streamCRC: number | null = null;
  let work: Int32Array | undefined;
  let bytes = 0;

  /** Decodes the next header, block or end-of-stream marker; returns the block's output (if any). */
  const next = (reader: BitReader): Buffer[] => {
    const out: Buffer[] = [];
    try {
      if (blockSize === 0) {
        blockSize = bzip2.header(reader);
        streamCRC = 0;
        return out;
      }
      const size = 100_000 * blockSize;
      if (work?.length !== size) work = new Int32Array(size);
      let piece = Buffer.allocUnsafe(BZIP2_OUT_BYTES);
      let used = 0;
      const write = (byte: number) => {
        if (used === piece.length) {
          bytes += used;
          // The block was read whole before its first byte is written: `bytesRead` is final for it.
          const over = limits.check(bytes, reader.bytesRead);
          if (over !== undefined) throw over;
          out.push(piece);
          piece = Buffer.allocUnsafe(BZIP2_OUT_BYTES);
          used = 0;
        }
        piece[used++] = byte;
      };
      streamCRC = bzip2.decompress(reader, write, work, size, streamCRC);
      bytes += used;
      const over = limits.check(bytes, reader.bytesRead);
      if (over !== undefined) throw over;
      if (used > 0) out.push(piece.subarray(0, used));
      // End of one stream: a concatenated one (pbzip2) may follow with its own header.
      if (streamCRC === null) blockSize = 0;
      return out;
    } catch (err) {
      if (err instanceof RunFailure) throw err;
      throw corrupt('bzip2', err);
    }
  };

  for await (const chunk of source) {
    if (chunk.length === 0) continue;
    queue.push(chunk);
    buffered += chunk.length;
    bits ??= bitIterator(() => queue.shift());
    while (buffered - bits.bytesRead + 1 >= bzip2BlockInput(blockSize)) yield* next(bits);
  }
  if (bits === undefined) throw corrupt('bzip2');
  while (buffered > bits.bytesRead) yield* next(bits);
  // Ended inside a stream: no end-of-stream marker, so the stream CRC was never checked.
  if (blockSize !== 0) throw corrupt('bzip2');
}
