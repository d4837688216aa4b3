import { Transform, type TransformCallback } from 'node:stream';
import type { RecordCounter } from './record-counter.js';

/**
 * Passes bytes through unchanged while counting them (and, given a {@link RecordCounter}, the
 * records they hold), for a run's metrics (`outputBytes`, `recordCount`). Fails with `onLimit()`'s
 * error once more than `maxBytes` pass.
 */
export class ByteCounter extends Transform {
  bytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly onLimit: () => Error,
    private readonly records?: RecordCounter,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      callback(this.onLimit());
      return;
    }
    this.records?.update(chunk);
    callback(null, chunk);
  }
}
