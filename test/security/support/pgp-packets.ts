import { Readable } from 'node:stream';
import { crc32, deflateRawSync, deflateSync, constants as zlibConstants } from 'node:zlib';
import {
  PublicKeyEncryptedSessionKeyPacket,
  SymEncryptedIntegrityProtectedDataPacket,
  encryptSessionKey,
  enums,
  generateSessionKey,
  readKey,
  type Message,
} from 'openpgp';
import { decryptStream, type DecryptStreamOptions } from '../../../shared/pgp/decrypt-stream.js';
import { PGP_CONFIG } from '../../../shared/pgp/config.js';
import { PgpError, type PgpErrorCode } from '../../../shared/pgp/errors.js';

/**
 * Raw OpenPGP packet building for hostile-input tests: headers with any length encoding, and a
 * real PKESK + SEIPDv1 envelope around arbitrary inner bytes, so a malformed *plaintext* packet
 * stream reaches the parser behind a valid integrity check (openpgp's own writer would refuse to
 * produce it).
 */

/** Every code `decryptStream` may fail with on hostile message bytes (our key is valid). */
export const MESSAGE_FAILURE_CODES: readonly PgpErrorCode[] = [
  'NOT_ENCRYPTED_FOR_THIS_KEY',
  'INTEGRITY_CHECK_MISSING',
  'INTEGRITY_CHECK_FAILED',
  'MALFORMED_PGP_MESSAGE',
  'UNSUPPORTED_PGP_FEATURE',
  'FILE_TOO_LARGE',
  'COMPRESSION_RATIO_EXCEEDED',
];

/** A new-format packet header (RFC 9580 §4.2.1) with the shortest length encoding, or a forced 5-octet one. */
export function packetHeader(tag: number, length: number, fiveOctet = false): Buffer {
  const first = 0xc0 | (tag & 0x3f);
  if (!fiveOctet && length < 192) return Buffer.of(first, length);
  if (!fiveOctet && length < 8384) {
    const l = length - 192;
    return Buffer.of(first, (l >> 8) + 192, l & 0xff);
  }
  const out = Buffer.alloc(6);
  out[0] = first;
  out[1] = 0xff;
  out.writeUInt32BE(length >>> 0, 2);
  return out;
}

export function packet(tag: number, body: Uint8Array): Buffer {
  return Buffer.concat([packetHeader(tag, body.length), body]);
}

/** A literal data packet (tag 11), binary format, no file name, date 0. */
export function literalPacket(data: Uint8Array): Buffer {
  return packet(11, Buffer.concat([Buffer.of(0x62, 0, 0, 0, 0, 0), data]));
}

/** A compressed data packet (tag 8): algorithm 0 uncompressed, 1 ZIP (raw deflate), 2 ZLIB. */
export function compressedPacket(algorithm: 0 | 1 | 2, data: Uint8Array): Buffer {
  const body = algorithm === 1 ? deflateRawSync(data, { level: 9 }) : algorithm === 2 ? deflateSync(data, { level: 9 }) : data;
  return packet(8, Buffer.concat([Buffer.of(algorithm), body]));
}

/**
 * A raw-deflate stream of `zeros` zero bytes after `prefix`, built without compressing them: a
 * full flush makes each 1 MiB block of zeros self-contained, so one block repeated is a valid
 * stream of any length (how a real bomb is made cheaply). ~1 KiB of output per MiB of input.
 */
export function deflateBomb(prefix: Uint8Array, zeroMiB: number): Buffer {
  const head = deflateRawSync(prefix, { finishFlush: zlibConstants.Z_FULL_FLUSH });
  const block = deflateRawSync(Buffer.alloc(1024 * 1024), { finishFlush: zlibConstants.Z_FULL_FLUSH, level: 9 });
  // A final empty fixed-Huffman block: BFINAL=1, BTYPE=01, end-of-block code.
  return Buffer.concat([head, ...Array.from({ length: zeroMiB }, () => block), Buffer.of(0x03, 0x00)]);
}

/** {@link deflateBomb} in a zlib wrapper (RFC 1950), with the right Adler-32 of `prefix` and the zeros. */
export function zlibBomb(prefix: Uint8Array, zeroMiB: number): Buffer {
  let a = 1;
  let b = 0;
  for (const byte of prefix) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  // A zero byte leaves `a` as it is and adds it to `b`.
  b = (b + ((zeroMiB * 1024 * 1024) % 65521) * a) % 65521;
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE(((b << 16) | a) >>> 0);
  return Buffer.concat([Buffer.of(0x78, 0xda), deflateBomb(prefix, zeroMiB), adler]);
}

/** {@link deflateBomb} of zeros only in a gzip member (RFC 1952), with the right CRC-32 and size. */
export function gzipBomb(zeroMiB: number): Buffer {
  const mib = Buffer.alloc(1024 * 1024);
  let crc = 0;
  for (let i = 0; i < zeroMiB; i++) crc = crc32(mib, crc);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE((zeroMiB * 1024 * 1024) % 2 ** 32, 4);
  const header = Buffer.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 0xff);
  return Buffer.concat([header, deflateBomb(new Uint8Array(0), zeroMiB), trailer]);
}

interface InnerBytes {
  write(): Uint8Array;
}

/**
 * A valid PKESK (to `publicKeyArmored`) and SEIPDv1 whose encrypted content is exactly `inner`:
 * integrity protection is intact, so whatever fails, fails in the parser of the inner packets.
 */
export async function encryptInnerBytes(publicKeyArmored: string, inner: Uint8Array): Promise<Buffer> {
  const publicKey = await readKey({ armoredKey: publicKeyArmored });
  const sessionKey = await generateSessionKey({ encryptionKeys: publicKey, config: PGP_CONFIG });
  const envelope: Message<Uint8Array> = await encryptSessionKey({ ...sessionKey, encryptionKeys: publicKey, format: 'object', config: PGP_CONFIG });
  const seipd = new SymEncryptedIntegrityProtectedDataPacket();
  (seipd as unknown as { version: number }).version = 1;
  (seipd as unknown as { packets: InnerBytes }).packets = { write: () => inner };
  await (seipd as unknown as { encrypt(a: enums.symmetric, k: Uint8Array, c: typeof PGP_CONFIG): Promise<void> }).encrypt(
    enums.symmetric[sessionKey.algorithm],
    sessionKey.data,
    PGP_CONFIG,
  );
  const pkesk = envelope.packets.findPacket(enums.packet.publicKeyEncryptedSessionKey);
  if (!(pkesk instanceof PublicKeyEncryptedSessionKeyPacket)) throw new Error('no PKESK');
  envelope.packets.push(seipd);
  const written: unknown = envelope.write();
  if (!(written instanceof Uint8Array)) throw new TypeError('expected bytes');
  return Buffer.from(written);
}

export interface Outcome {
  readonly ok: boolean;
  readonly plaintext?: Buffer;
  readonly code?: PgpErrorCode;
  readonly error?: unknown;
  readonly ms: number;
}

/**
 * Decrypts `data` to the end within `timeoutMs`, discarding the plaintext past `keepBytes`.
 * Resolves with the outcome; a hang resolves as a non-PgpError ("timed out") so the caller's
 * assertion names it.
 */
export async function outcomeOf(data: Buffer, options: DecryptStreamOptions, timeoutMs = 10_000, keepBytes = 1024 * 1024): Promise<Outcome> {
  const started = performance.now();
  const run = (async (): Promise<Outcome> => {
    const { plaintext, result } = await decryptStream(Readable.from([data]), options);
    const kept: Buffer[] = [];
    let size = 0;
    for await (const chunk of plaintext) {
      const b = chunk as Buffer;
      if (size < keepBytes) kept.push(b);
      size += b.length;
    }
    await result;
    return { ok: true, plaintext: Buffer.concat(kept), ms: performance.now() - started };
  })().catch((error: unknown): Outcome => ({
    ok: false,
    error,
    ms: performance.now() - started,
    ...(error instanceof PgpError ? { code: error.code } : {}),
  }));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, error: new Error(`timed out after ${timeoutMs} ms`), ms: timeoutMs }), timeoutMs);
  });
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
