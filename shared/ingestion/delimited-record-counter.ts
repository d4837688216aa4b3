import type { RecordCounter } from './record-counter.js';

const NEWLINE = 0x0a;

/**
 * Records of a delimited (CSV/TSV) file: its lines, counting a last line without a trailing
 * newline, less the header row. Quoted fields spanning lines count once per line (the count is
 * a metric, not a parse).
 */
export class DelimitedRecordCounter implements RecordCounter {
  #lines = 0;
  #lastByte = -1;

  update(chunk: Uint8Array): void {
    for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) this.#lines++;
    if (chunk.length > 0) this.#lastByte = chunk[chunk.length - 1] ?? -1;
  }

  get records(): number {
    const lines = this.#lines + (this.#lastByte !== -1 && this.#lastByte !== NEWLINE ? 1 : 0);
    return Math.max(0, lines - 1);
  }
}
