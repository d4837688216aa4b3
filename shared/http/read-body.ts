import type { ReadableStream, ReadableStreamDefaultReader } from 'node:stream/web';
import { DEFAULT_REQUEST_BODY_TIMEOUT_SECONDS } from '../config/defaults.js';
import { PayloadTooLargeError, RequestTimeoutError, ValidationError } from '../errors.js';

/** Default byte limit of a request body when a route sets none. */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;

/** The longest a body may pause between two chunks (never more than the total timeout). */
export const BODY_IDLE_TIMEOUT_SECONDS = 10;

/** How long reading a request body may take: in all, and without a byte arriving. */
export interface BodyTimeouts {
  readonly totalMs: number;
  readonly idleMs: number;
}

/** The timeouts of a body that may take `totalSeconds` in all: the idle limit is {@link BODY_IDLE_TIMEOUT_SECONDS}, or the total if shorter. */
export function bodyTimeouts(totalSeconds: number): BodyTimeouts {
  return { totalMs: totalSeconds * 1000, idleMs: Math.min(totalSeconds, BODY_IDLE_TIMEOUT_SECONDS) * 1000 };
}

/** {@link bodyTimeouts} of `REQUEST_BODY_TIMEOUT_SECONDS`'s default (60 s). */
export const DEFAULT_BODY_TIMEOUTS: BodyTimeouts = bodyTimeouts(DEFAULT_REQUEST_BODY_TIMEOUT_SECONDS);

/**
 * Reads a request body into memory, refusing it as soon as it passes `limitBytes`: a declared
 * `Content-Length` over the limit is refused before reading anything, and a longer stream is
 * cancelled at the first chunk past the limit, so an oversized body is never buffered whole.
 * A body that takes longer than `timeouts.totalMs` in all, or pauses for `timeouts.idleMs`, is
 * cancelled too, so a slow client cannot hold the request open.
 *
 * @throws PAYLOAD_TOO_LARGE past the limit.
 * @throws REQUEST_TIMEOUT past either timeout.
 * @throws INVALID_REQUEST for a malformed `Content-Length`, or a body whose connection was
 *   dropped before it was complete (by the client, or by the host giving up on it).
 */
export async function readBody(
  body: ReadableStream<Uint8Array> | null,
  contentLength: string | null,
  limitBytes: number,
  timeouts: BodyTimeouts = DEFAULT_BODY_TIMEOUTS,
): Promise<Uint8Array> {
  if (contentLength !== null) {
    if (!/^\d{1,15}$/.test(contentLength.trim())) {
      throw new ValidationError('The Content-Length header is malformed', [{ field: 'headers.content-length', message: 'Must be a byte count' }]);
    }
    if (Number(contentLength) > limitBytes) throw new PayloadTooLargeError(limitBytes);
  }
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const deadline = performance.now() + timeouts.totalMs;
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await readWithin(reader, deadline, timeouts);
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

/** The next chunk, unless the idle limit or the total deadline comes first: then the stream is cancelled. */
async function readWithin(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  deadline: number,
  timeouts: BodyTimeouts,
): ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']> {
  const untilDeadline = deadline - performance.now();
  const idle = timeouts.idleMs <= untilDeadline;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), Math.max(0, idle ? timeouts.idleMs : untilDeadline));
  });
  try {
    const next = await Promise.race([reader.read(), expired]);
    if (next !== 'expired') return next;
  } catch (err) {
    // A reset connection is the caller's doing (or the host's answer to it, such as its own
    // timeout): logged by code like other caller failures, not as a server error with a stack.
    if ((err as { code?: unknown } | null)?.code === 'ECONNRESET') {
      throw new ValidationError('The request body ended before it was complete', [], { cause: err });
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
  // Not awaited: cancelling settles the pending read at once, and a source slow to close must not hold the answer.
  reader.cancel().catch(() => undefined);
  throw new RequestTimeoutError(
    idle
      ? `The request body stopped arriving for ${timeouts.idleMs / 1000} s`
      : `The request body did not arrive within ${timeouts.totalMs / 1000} s`,
  );
}
