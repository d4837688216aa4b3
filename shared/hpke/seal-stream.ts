import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { cipherSuite } from './cipher-suite.js';
import type { ResolvedClientKey } from './client-keys.js';
import { recipientKey } from './seal-response.js';
import { MAX_STREAM_CHUNKS, STREAM_CHUNK_BYTES, chunkAad, encodeVarint, streamAadPrefix } from './stream-format.js';
import { kemById, type Aead, type Kdf } from './suites.js';
import { encodeHeader, streamInfo, type ResponseBinding } from './wire-format.js';

/** Options of {@link sealStream}; the defaults are the format's. */
export interface SealStreamOptions {
  readonly chunkBytes?: number;
  readonly maxChunks?: number;
}

/**
 * Seals a response body stream to a client key in the chunked format (stream-format.ts): one HPKE
 * context, a sealed chunk per {@link STREAM_CHUNK_BYTES} of plaintext, the last one marked final.
 * Memory stays flat: one chunk buffer, back pressure from the consumer, and a turn of the event
 * loop after every chunk so a large export never holds the process. If `source` fails, the stream
 * fails without a final chunk, so the client sees a truncated stream, never a short file.
 */
export function sealStream(clientKey: ResolvedClientKey, kdf: Kdf, aead: Aead, binding: ResponseBinding, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: SealStreamOptions = {}): Readable {
  const chunkBytes = options.chunkBytes ?? STREAM_CHUNK_BYTES;
  const maxChunks = options.maxChunks ?? MAX_STREAM_CHUNKS;
  async function* frames(): AsyncGenerator<Buffer> {
    const kem = kemById(clientKey.kemId);
    if (kem === undefined) throw new Error(`stored client key has an unknown KEM ${clientKey.kemId}`);
    const suite = cipherSuite({ kem, kdf, aead });
    const header = encodeHeader({ keyId: clientKey.keyId, kemId: kem.id, kdfId: kdf.id, aeadId: aead.id });
    const ctx = await suite.createSenderContext({ recipientPublicKey: await recipientKey(suite, clientKey), info: streamInfo(header) });
    const prefix = streamAadPrefix(binding);
    let seq = 0;
    const seal = async (plaintext: Uint8Array, final: boolean): Promise<Buffer> => {
      if (seq >= maxChunks) throw new RangeError('the stream has more chunks than its sequence number allows');
      const ct = Buffer.from(await ctx.seal(plaintext, chunkAad(prefix, seq, final)));
      seq++;
      return Buffer.concat([encodeVarint(final ? 0 : ct.byteLength), ct]);
    };
    yield Buffer.concat([header, Buffer.from(ctx.enc)]);
    const pending = Buffer.alloc(chunkBytes);
    let filled = 0;
    for await (const piece of source) {
      let at = 0;
      while (at < piece.byteLength) {
        // A full chunk is sealed only once more data arrives: the last one must carry the final mark.
        if (filled === chunkBytes) {
          yield await seal(pending, false);
          filled = 0;
          await nextTurn();
        }
        const n = Math.min(chunkBytes - filled, piece.byteLength - at);
        pending.set(piece.subarray(at, at + n), filled);
        filled += n;
        at += n;
      }
    }
    yield await seal(pending.subarray(0, filled), true);
  }
  return Readable.from(frames(), { objectMode: false, highWaterMark: chunkBytes });
}
