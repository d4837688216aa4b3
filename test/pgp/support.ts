import { Readable } from 'node:stream';
import { decryptStream, type DecryptResult, type DecryptStreamOptions } from '../../shared/pgp/decrypt-stream.js';
import { PgpError, type PgpErrorCode } from '../../shared/pgp/errors.js';

/** Feeds `data` in `chunkSize` pieces, like a blob download would. */
export function readableOf(data: Buffer, chunkSize = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += chunkSize) yield data.subarray(i, i + chunkSize);
    })(),
  );
}

/** Decrypts fully (tests only: a bounded buffer), resolving once `result` has resolved. */
export async function decryptAll(
  data: Buffer,
  options: DecryptStreamOptions,
): Promise<{ plaintext: Buffer; result: DecryptResult }> {
  const { plaintext, result } = await decryptStream(readableOf(data), options);
  const chunks: Buffer[] = [];
  for await (const chunk of plaintext) chunks.push(chunk as Buffer);
  return { plaintext: Buffer.concat(chunks), result: await result };
}

/** The PgpError code a decryption fails with, wherever it surfaces (promise, stream or result). */
export async function failureCode(data: Buffer, options: DecryptStreamOptions): Promise<PgpErrorCode> {
  const err = await decryptAll(data, options).then(
    () => new Error('decryption unexpectedly succeeded'),
    (e: unknown) => e,
  );
  if (err instanceof PgpError) return err.code;
  throw err;
}

export async function failureOf(data: Buffer, options: DecryptStreamOptions): Promise<PgpError> {
  const err = await decryptAll(data, options).then(
    () => new Error('decryption unexpectedly succeeded'),
    (e: unknown) => e,
  );
  if (err instanceof PgpError) return err;
  throw err;
}

/** A small CSV with varied bytes (and a non-ASCII name) so byte-identity is meaningful. */
export function sampleCsv(rows = 2000): Buffer {
  const lines = ['id,name,amount'];
  for (let i = 0; i < rows; i++) lines.push(`${i},Zoë ${i * 7919},${(i * 31.7).toFixed(2)}`);
  return Buffer.from(lines.join('\r\n') + '\r\n', 'utf8');
}

/** openpgp's stream typings do not resolve here: narrow what its writers return to bytes. */
export function bytesOf(value: unknown): Buffer {
  if (value instanceof Uint8Array) return Buffer.from(value);
  throw new TypeError('expected bytes');
}
