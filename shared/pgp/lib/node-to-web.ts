import type { Readable } from 'node:stream';
import { ReadableStream } from 'node:stream/web';

/**
 * Size of the chunks handed to OpenPGP.js (and of the plaintext chunks handed on). Each chunk
 * costs several promise hops through the library's chain of web-stream stages, so blob reads of
 * a few KiB would leave the pipeline mostly idle. 128 KiB measured faster than 1 MiB (`npm run
 * bench`, figures 1 to 3): pieces that stay in the CPU cache between stages, zlib's thread pool
 * fed while the main thread decrypts, and fewer buffers waiting for V8's external-memory GC.
 * The openpgp patch's `PARTIAL_BODY_RUN_BYTES` (patches/) was measured with, and is set to, the
 * same size.
 */
export const INPUT_CHUNK_BYTES = 128 * 1024;

/** Bytes looked at to tell ASCII armor from binary packets. */
const SNIFF_BYTES = 64;

/** Bytes kept from the start of the input: a packet header (at most 6) and its first octet. */
const HEAD_BYTES = 8;

export interface OpenedInput {
  /** True when the first non-whitespace byte is `-` (an armor header line). */
  readonly armored: boolean;
  readonly stream: ReadableStream<Uint8Array>;
  /** The error `input` itself failed with (an I/O failure, not a PGP one), if any. */
  readonly inputError: () => { readonly error: unknown } | undefined;
  /** Whether a read of `input` is in flight, and when (epoch ms) one last started or finished. */
  readonly activity: () => { readonly reading: boolean; readonly at: number };
  /** The first bytes of `input` read so far (up to 8), for telling what kind of data failed to parse. */
  readonly head: () => Uint8Array;
}

/**
 * Wraps a Node readable as a web stream of chunks of {@link INPUT_CHUNK_BYTES} or more (the
 * source's own larger chunks are passed on whole), after reading just enough of it to
 * detect ASCII armor. A binary OpenPGP packet starts with an octet whose high bit is set, so a
 * leading `-` (0x2D) can only be armor. Cancelling the web stream destroys `input` (without an error).
 */
export async function openInput(input: Readable): Promise<OpenedInput> {
  const iterator: AsyncIterator<unknown> = input[Symbol.asyncIterator]();
  const pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let ended = false;
  let failure: { readonly error: unknown } | undefined;
  let cancelled = false;
  let reading = false;
  let activeAt = Date.now();
  const head = new Uint8Array(HEAD_BYTES);
  let headLength = 0;

  const readMore = async (): Promise<boolean> => {
    let next: IteratorResult<unknown>;
    reading = true;
    activeAt = Date.now();
    try {
      next = await iterator.next();
    } catch (error) {
      // After a cancel the premature-close error is ours, not an I/O failure of the input.
      if (!cancelled) failure = { error };
      throw error;
    } finally {
      reading = false;
      activeAt = Date.now();
    }
    if (next.done === true) {
      ended = true;
      return false;
    }
    const chunk = toBytes(next.value);
    if (headLength < HEAD_BYTES) {
      const kept = chunk.subarray(0, HEAD_BYTES - headLength);
      head.set(kept, headLength);
      headLength += kept.length;
    }
    if (chunk.length > 0) {
      pending.push(chunk);
      pendingBytes += chunk.length;
    }
    return true;
  };

  let firstByte: number | undefined;
  while (firstByte === undefined && pendingBytes < SNIFF_BYTES && (await readMore())) {
    firstByte = firstNonWhitespace(pending);
  }
  firstByte ??= firstNonWhitespace(pending);

  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        while (pendingBytes < INPUT_CHUNK_BYTES && !ended) {
          await readMore();
        }
        if (pendingBytes > 0) {
          controller.enqueue(
            pending.length === 1 && pending[0] !== undefined ? pending[0] : Buffer.concat(pending, pendingBytes),
          );
          pending.length = 0;
          pendingBytes = 0;
        }
        if (ended) controller.close();
      },
      cancel() {
        cancelled = true;
        // Without an error: the caller may have no 'error' listener on its own stream.
        input.destroy();
      },
    },
    // One chunk read ahead lets the next blob read overlap decryption of the current chunk.
    { highWaterMark: 1 },
  );
  return {
    armored: firstByte === 0x2d,
    stream,
    inputError: () => failure,
    activity: () => ({ reading, at: activeAt }),
    head: () => head.slice(0, headLength),
  };
}

function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return Buffer.from(value, 'latin1');
  throw new TypeError('input must be a byte stream');
}

function firstNonWhitespace(chunks: readonly Uint8Array[]): number | undefined {
  for (const chunk of chunks) {
    for (const byte of chunk) {
      // space, tab, CR, LF; a UTF-8 BOM is not skipped (gpg never writes one).
      if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d && byte !== 0x0a) return byte;
    }
  }
  return undefined;
}
