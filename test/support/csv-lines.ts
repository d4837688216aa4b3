import { Readable } from 'node:stream';

/** One fixed CSV record; files made of it have a record count known in advance. */
export const LINE = Buffer.from('00000001,a-customer-name-padded-to-a-realistic-width,someone@example.com,2026-11-22T00:00:00Z\n');

/** Exactly `size` bytes of CSV lines, generated as it is read (never a whole Buffer). */
export function csvStream(size: number): Readable {
  const block = Buffer.concat(Array.from({ length: Math.floor((1024 * 1024) / LINE.length) }, () => LINE));
  let left = size;
  return new Readable({
    read() {
      if (left <= 0) {
        this.push(null);
        return;
      }
      const n = Math.min(left, block.length);
      left -= n;
      this.push(n === block.length ? block : block.subarray(0, n));
    },
  });
}

/** The records a delimited flow counts in {@link csvStream}`(size)` (the first line is the header). */
export function recordsIn(size: number): number {
  return Math.ceil(size / LINE.length) - 1;
}
