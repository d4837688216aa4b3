import { Transform, type TransformCallback } from 'node:stream';

const NEWLINE = 0x0a;

/**
 * Passes bytes through unchanged while counting them and their lines, for a run's metrics
 * (`outputBytes`, `recordCount`). Fails with `onLimit()`'s error once more than `maxBytes` pass.
 */
export class ByteCounter extends Transform {
  bytes = 0;
  lines = 0;
  #lastByte = -1;

  constructor(private readonly maxBytes: number, private readonly onLimit: () => Error) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      callback(this.onLimit());
      return;
    }
    for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) this.lines++;
    if (chunk.length > 0) this.#lastByte = chunk[chunk.length - 1] ?? -1;
    callback(null, chunk);
  }

  /** Lines, counting a last line without a trailing newline. */
  get totalLines(): number {
    return this.lines + (this.bytes > 0 && this.#lastByte !== NEWLINE ? 1 : 0);
  }
}
