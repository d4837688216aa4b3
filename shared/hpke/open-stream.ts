import { setImmediate as nextTurn } from 'node:timers/promises';
import { cipherSuite } from './cipher-suite.js';
import { HpkeClientError } from './client-error.js';
import { MAX_SEALED_CHUNK_BYTES, MAX_STREAM_CHUNKS, chunkAad, decodeVarint, streamAadPrefix, varintLength } from './stream-format.js';
import { kemById, suiteOf } from './suites.js';
import { HEADER_LENGTH, decodeHeader, streamInfo, type ResponseBinding } from './wire-format.js';

/** A key pair to open with: raw keys, as `generateClientKeyPair` makes them. */
export interface StreamRecipientKey {
  readonly keyId: number;
  readonly kemId: number;
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

/**
 * Reads exact byte counts from an async byte source, holding at most one chunk's worth plus the
 * piece being read (the source's pieces are not copied until they are needed).
 */
class ByteReader {
  private readonly pieces: Uint8Array[] = [];
  private buffered = 0;
  private done = false;

  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  /** Up to `n` bytes; fewer only at the end of the stream. */
  async take(n: number): Promise<Uint8Array> {
    while (this.buffered < n && !this.done) {
      const next = await this.source.next();
      if (next.done === true) this.done = true;
      else if (next.value.byteLength > 0) {
        this.pieces.push(next.value);
        this.buffered += next.value.byteLength;
      }
    }
    const want = Math.min(n, this.buffered);
    const out = new Uint8Array(want);
    let at = 0;
    while (at < want) {
      const piece = this.pieces[0];
      if (piece === undefined) break;
      const used = Math.min(piece.byteLength, want - at);
      out.set(piece.subarray(0, used), at);
      at += used;
      if (used === piece.byteLength) this.pieces.shift();
      else this.pieces[0] = piece.subarray(used);
    }
    this.buffered -= want;
    return out;
  }

  /** True once the source is exhausted and nothing is left. */
  async atEnd(): Promise<boolean> {
    if (this.buffered > 0) return false;
    const probe = await this.take(1);
    if (probe.byteLength === 0) return true;
    this.pieces.unshift(probe);
    this.buffered += 1;
    return false;
  }

  async close(): Promise<void> {
    await this.source.return?.();
  }
}

function truncated(): HpkeClientError {
  return new HpkeClientError('HPKE_STREAM_TRUNCATED', 'The encrypted stream ended before its final chunk');
}

/**
 * Opens a streamed answer (`application/octet-stream+hpke-chunked`, stream-format.ts) chunk by
 * chunk, yielding each chunk's plaintext once it is authenticated. Memory stays flat (one sealed
 * chunk at a time) and the event loop gets a turn after every chunk. Plaintext already yielded is
 * authentic but may be incomplete until the generator returns: discard it when it throws.
 *
 * @throws HpkeClientError `HPKE_DECRYPT_FAILED` (not for this key, a chunk tampered, reordered,
 *   taken from another stream or falsely final, bytes after the final chunk, a malformed length),
 *   `HPKE_STREAM_TRUNCATED` (the stream ends before its final chunk), `HPKE_SEQUENCE_OVERFLOW`
 *   (more than `maxChunks` chunks).
 */
export async function* openStream(options: {
  readonly clientKey: StreamRecipientKey;
  readonly binding: ResponseBinding;
  readonly body: AsyncIterable<Uint8Array>;
  /** Refuse streams of more chunks (default {@link MAX_STREAM_CHUNKS}). */
  readonly maxChunks?: number;
}): AsyncGenerator<Uint8Array<ArrayBuffer>, void, undefined> {
  const maxChunks = options.maxChunks ?? MAX_STREAM_CHUNKS;
  const reader = new ByteReader(options.body[Symbol.asyncIterator]());
  try {
    const kem = kemById(options.clientKey.kemId);
    if (kem === undefined) throw new HpkeClientError('HPKE_UNSUPPORTED_SUITE', `KEM ${options.clientKey.kemId} is not supported`);
    const head = await reader.take(HEADER_LENGTH + kem.encLength);
    if (head.byteLength < HEADER_LENGTH + kem.encLength) throw truncated();
    const header = head.subarray(0, HEADER_LENGTH);
    const ids = decodeHeader(header);
    const suite = ids === undefined ? undefined : suiteOf(ids);
    if (ids === undefined || suite === undefined || ids.keyId !== options.clientKey.keyId || suite.kem.id !== kem.id) {
      throw new HpkeClientError('HPKE_DECRYPT_FAILED', 'The stream is not encrypted to this client key');
    }
    const hs = cipherSuite(suite);
    let ctx;
    try {
      const sk = await hs.kem.deserializePrivateKey(options.clientKey.privateKey);
      const pk = await hs.kem.deserializePublicKey(options.clientKey.publicKey);
      ctx = await hs.createRecipientContext({ recipientKey: { privateKey: sk, publicKey: pk }, enc: head.subarray(HEADER_LENGTH), info: streamInfo(header) });
    } catch (err) {
      throw new HpkeClientError('HPKE_DECRYPT_FAILED', 'The stream could not be decrypted', { cause: err });
    }
    const prefix = streamAadPrefix(options.binding);
    for (let seq = 0; ; seq++) {
      const first = await reader.take(1);
      if (first.byteLength === 0) throw truncated();
      if (seq >= maxChunks) throw new HpkeClientError('HPKE_SEQUENCE_OVERFLOW', `The stream has more than ${maxChunks} chunks`);
      const rest = await reader.take(varintLength(first[0] ?? 0) - 1);
      if (rest.byteLength < varintLength(first[0] ?? 0) - 1) throw truncated();
      const length = decodeVarint(new Uint8Array([...first, ...rest]));
      const final = length === 0;
      if (length > MAX_SEALED_CHUNK_BYTES) throw new HpkeClientError('HPKE_DECRYPT_FAILED', 'A chunk is longer than the format allows');
      // The final chunk runs to the end of the stream: one byte more than allowed is malformed.
      const ct = await reader.take(final ? MAX_SEALED_CHUNK_BYTES + 1 : length);
      if (final ? ct.byteLength > MAX_SEALED_CHUNK_BYTES : ct.byteLength < length) {
        throw final ? new HpkeClientError('HPKE_DECRYPT_FAILED', 'The final chunk is longer than the format allows') : truncated();
      }
      let plaintext: Uint8Array<ArrayBuffer>;
      try {
        plaintext = new Uint8Array(await ctx.open(ct, chunkAad(prefix, seq, final)));
      } catch (err) {
        throw new HpkeClientError('HPKE_DECRYPT_FAILED', 'A chunk of the stream could not be decrypted', { cause: err });
      }
      if (plaintext.byteLength > 0) yield plaintext;
      if (final) {
        if (!(await reader.atEnd())) throw new HpkeClientError('HPKE_DECRYPT_FAILED', 'Bytes follow the final chunk');
        return;
      }
      await nextTurn();
    }
  } finally {
    await reader.close();
  }
}
