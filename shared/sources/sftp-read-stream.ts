import { Readable } from 'node:stream';
import { SourceError } from '../errors.js';
import { kindOf, versionOf, type SftpSession } from './sftp-session.js';

/** Bytes asked for by one SFTP read. A server may answer fewer (SFTP only promises 32 KiB): the rest is asked for again. */
const READ_BYTES = 64 * 1024;
/**
 * Reads in flight at once: one at a time would cost a round trip per 64 KiB (1.3 MB/s at 50 ms).
 * Memory stays bounded: at most this many reads plus the stream's buffer.
 */
const READS_IN_FLIGHT = 8;
const HIGH_WATER_MARK = 256 * 1024;

/** One read of the file: `length` bytes from `offset`, which a short answer may split into several requests. */
interface Slot {
  readonly offset: number;
  readonly length: number;
  readonly chunks: Buffer[];
  received: number;
}

function changed(how: string): SourceError {
  return new SourceError(
    'SOURCE_FILE_CHANGED',
    `The file changed while it was read (${how}); read it again from its new version`,
  );
}

/**
 * Reads exactly `size` bytes of an open SFTP file, in order, with back pressure, then proves they
 * were one version: the handle (`fstat`: the file that was read) and the path (`lstat`: what the
 * path names now) must still have the size and time the reader opened, or the stream fails with
 * SOURCE_FILE_CHANGED instead of ending. A file that grows, shrinks or is replaced while it is read
 * is so never delivered as if complete. (A rewrite in place that keeps the size within the same
 * second cannot be seen: SFTP v3 has no finer time and no content hash.)
 *
 * Closes the handle when it ends or is destroyed; the session stays the reader's.
 * @throws (as the stream's error) SOURCE_FILE_CHANGED as above; SOURCE_UNREACHABLE when the
 *   connection is lost or a read times out.
 */
export class SftpReadStream extends Readable {
  readonly #session: SftpSession;
  #handle: Buffer | undefined;
  readonly #path: string;
  readonly #size: number;
  readonly #version: string;
  readonly #slots: Slot[] = [];
  #nextOffset = 0;
  #finishing = false;

  constructor(
    session: SftpSession,
    handle: Buffer,
    path: string,
    expected: { readonly size: number; readonly version: string },
  ) {
    super({ highWaterMark: HIGH_WATER_MARK });
    this.#session = session;
    this.#handle = handle;
    this.#path = path;
    this.#size = expected.size;
    this.#version = expected.version;
  }

  override _read(): void {
    const handle = this.#handle;
    if (handle === undefined) return;
    while (this.#slots.length < READS_IN_FLIGHT && this.#nextOffset < this.#size) {
      const length = Math.min(READ_BYTES, this.#size - this.#nextOffset);
      const slot: Slot = { offset: this.#nextOffset, length, chunks: [], received: 0 };
      this.#slots.push(slot);
      this.#nextOffset += length;
      this.#fill(handle, slot);
    }
    if (this.#slots.length === 0 && this.#nextOffset >= this.#size) this.#finish(handle);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    const handle = this.#handle;
    this.#handle = undefined;
    if (handle === undefined) return callback(err);
    void this.#session.closeHandle(handle).then(() => callback(err));
  }

  /** Asks for the rest of `slot`; answers may come short (servers cap a read), so it asks again. */
  #fill(handle: Buffer, slot: Slot): void {
    const buffer = Buffer.allocUnsafe(slot.length - slot.received);
    this.#session.read(handle, buffer, slot.offset + slot.received).then(
      (bytes) => {
        if (this.destroyed) return;
        if (bytes === 0) return void this.destroy(changed('it became shorter'));
        slot.chunks.push(bytes === buffer.length ? buffer : buffer.subarray(0, bytes));
        slot.received += bytes;
        if (slot.received < slot.length) return this.#fill(handle, slot);
        this.#deliver(handle);
      },
      (err: unknown) => void this.destroy(err instanceof Error ? err : new Error(String(err))),
    );
  }

  /** Pushes the completed reads at the front, in file order; Node calls `_read` again for more. */
  #deliver(handle: Buffer): void {
    while (this.#slots[0] !== undefined && this.#slots[0].received === this.#slots[0].length) {
      const slot = this.#slots.shift();
      for (const chunk of slot?.chunks ?? []) this.push(chunk);
    }
    if (this.#slots.length === 0 && this.#nextOffset >= this.#size) this.#finish(handle);
  }

  /** After the last byte: the handle and the path must both still be the version that was opened. */
  #finish(handle: Buffer): void {
    if (this.#finishing) return;
    this.#finishing = true;
    Promise.all([this.#session.fstat(handle), this.#session.lstat(this.#path)]).then(
      ([read, now]) => {
        if (this.destroyed) return;
        if (versionOf(read) !== this.#version) return void this.destroy(changed('its size or time changed'));
        if (now === undefined || kindOf(now) !== 'file' || versionOf(now) !== this.#version) {
          return void this.destroy(changed('the path now names another version'));
        }
        this.#handle = undefined;
        void this.#session.closeHandle(handle).then(() => this.push(null));
      },
      (err: unknown) => void this.destroy(err instanceof Error ? err : new Error(String(err))),
    );
  }
}
