import { Transform, type TransformCallback } from 'node:stream';
import type { BodyTimeouts } from '../../shared/http/read-body.js';

/** Which limit a request body broke. */
export type BodyExpiry = 'total' | 'idle';

/**
 * A pass-through for a request body that calls `onExpire` once if the body has not ended within
 * `timeouts.totalMs` of its creation, or if no chunk arrived for `timeouts.idleMs` while nothing
 * waited in it for the reader: a pause the reader causes (back pressure) is not the client's.
 * The timers stop when the body ends or the stream is destroyed.
 */
export function bodyWatchdog(timeouts: BodyTimeouts, onExpire: (expiry: BodyExpiry) => void): Transform {
  let idleTimer: NodeJS.Timeout | undefined;
  let expired = false;
  const expire = (expiry: BodyExpiry): void => {
    if (expired) return;
    expired = true;
    stop();
    onExpire(expiry);
  };
  const armIdle = (): void => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      if (watchdog.writableLength + watchdog.readableLength > 0) armIdle();
      else expire('idle');
    }, timeouts.idleMs);
  };
  const totalTimer = setTimeout(() => expire('total'), timeouts.totalMs);
  const stop = (): void => {
    clearTimeout(totalTimer);
    clearTimeout(idleTimer);
  };
  const watchdog = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      armIdle();
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      stop();
      callback();
    },
  });
  watchdog.once('close', stop);
  armIdle();
  return watchdog;
}
