import { responseAad, type ResponseBinding } from './wire-format.js';

/**
 * The streamed HPKE format of `application/octet-stream+hpke-chunked` (exports), modelled on
 * chunked OHTTP (draft-ietf-ohai-chunked-ohttp §4-§6): one HPKE context, each piece sealed with
 * the context's next sequence number, each chunk prefixed with its length as a QUIC variable-length
 * integer (RFC 9000 §16), the final chunk announced by a zero length and running to the end of the
 * stream:
 *
 *     hdr (7) || enc (Nenc) || { varint(len) || ct }* || varint(0) || final ct
 *
 * `info` = `cipherflow stream v2` || 0x00 || hdr. Chunk i's `aad` = the response aad (org, sandbox,
 * method, path, status, request enc) || i (4 bytes, big-endian) || 0x01 for the final chunk, 0x00
 * otherwise: a chunk moved, dropped, taken from another stream or falsely marked final does not
 * open, and a stream without its final chunk is truncated.
 */

/** Plaintext bytes per chunk; only the final chunk may be shorter. */
export const STREAM_CHUNK_BYTES = 65_536;
/** The AEAD tag each chunk adds. */
export const STREAM_TAG_BYTES = 16;
/** The largest sealed chunk a reader accepts (a larger length is malformed). */
export const MAX_SEALED_CHUNK_BYTES = STREAM_CHUNK_BYTES + STREAM_TAG_BYTES;
/** Chunks per stream: the sequence number is 4 bytes in the aad (256 TiB at 64 KiB a chunk). */
export const MAX_STREAM_CHUNKS = 2 ** 32;

/** The fixed part of every chunk's aad: the response binding. */
export function streamAadPrefix(binding: ResponseBinding): Buffer {
  const aad = responseAad(binding);
  return Buffer.from(aad.buffer, aad.byteOffset, aad.byteLength);
}

/** Chunk `seq`'s aad: prefix || seq (4 bytes, big-endian) || final (1 byte). */
export function chunkAad(prefix: Buffer, seq: number, final: boolean): Uint8Array {
  const out = Buffer.alloc(prefix.byteLength + 5);
  prefix.copy(out, 0);
  out.writeUInt32BE(seq, prefix.byteLength);
  out.writeUInt8(final ? 1 : 0, prefix.byteLength + 4);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** QUIC variable-length integer (RFC 9000 §16) of a chunk length (< 2^30). */
export function encodeVarint(n: number): Buffer {
  if (n < 0x40) return Buffer.of(n);
  if (n < 0x4000) return Buffer.of(0x40 | (n >> 8), n & 0xff);
  if (n < 0x40000000) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE((n | 0x80000000) >>> 0);
    return b;
  }
  throw new RangeError('chunk length out of range');
}

/** Bytes of a varint from its first byte (1, 2, 4 or 8). */
export function varintLength(first: number): number {
  return 1 << (first >> 6);
}

/** The value of a complete varint; lengths past 2^53 come back as Infinity (never a valid chunk). */
export function decodeVarint(bytes: Uint8Array): number {
  let value = (bytes[0] ?? 0) & 0x3f;
  for (let i = 1; i < bytes.byteLength; i++) value = value * 256 + (bytes[i] ?? 0);
  return Number.isSafeInteger(value) ? value : Infinity;
}
