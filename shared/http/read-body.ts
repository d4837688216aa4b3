import type { ReadableStream } from 'node:stream/web';
import { PayloadTooLargeError, ValidationError } from '../errors.js';

/** Default byte limit of a request body when a route sets none. */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * Reads a request body into memory, refusing it as soon as it passes `limitBytes`: a declared
 * `Content-Length` over the limit is refused before reading anything, and a longer stream is
 * cancelled at the first chunk past the limit, so an oversized body is never buffered whole.
 *
 * @throws PAYLOAD_TOO_LARGE past the limit.
 * @throws INVALID_REQUEST for a malformed `Content-Length`.
 */
export async function readBody(
  body: ReadableStream<Uint8Array> | null,
  contentLength: string | null,
  limitBytes: number,
): Promise<Uint8Array> {
  if (contentLength !== null) {
    if (!/^\d{1,15}$/.test(contentLength.trim())) {
      throw new ValidationError('The Content-Length header is malformed', [{ field: 'headers.content-length', message: 'Must be a byte count' }]);
    }
    if (Number(contentLength) > limitBytes) throw new PayloadTooLargeError(limitBytes);
  }
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!(value instanceof Uint8Array)) throw new TypeError('Request body stream yielded a non-byte chunk');
      total += value.byteLength;
      if (total > limitBytes) {
        // Cancelling tells the source (the host's socket) we want no more; a failure to cancel changes nothing for the caller.
        await reader.cancel().catch(() => undefined);
        throw new PayloadTooLargeError(limitBytes);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(chunks, total);
}
