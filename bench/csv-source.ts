import { Readable } from 'node:stream';

const HEADER = 'id,name,email,city,amount,updated\n';
const CITIES = ['Lisbon', 'Zurich', 'Montreal', 'Osaka', 'Nairobi', 'Lima', 'Oslo', 'Austin'];
/** Generated per chunk; records are ~90 bytes. */
const CHUNK_BYTES = 1024 * 1024;

/**
 * Exactly `size` bytes of CSV, generated as it is read: a header, then records with increasing
 * ids and pseudo-random names, amounts and dates (a fixed xorshift seed, so every run reads the same
 * file). Varied enough that deflate shrinks it about as much as real customer exports (~3x),
 * unlike a repeated line, which compresses a thousandfold and would make the compressed case trivial.
 */
export function csvSource(size: number): Readable {
  let left = size;
  let id = 0;
  let state = 0x9e3779b9;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  let pending = Buffer.from(HEADER);
  return new Readable({
    read() {
      if (left <= 0) {
        this.push(null);
        return;
      }
      const lines: string[] = [];
      let length = pending.length;
      while (length < CHUNK_BYTES) {
        id += 1;
        const name = next().toString(36);
        const line =
          `${id},${name} ${next().toString(36)},${name}@example.com,${CITIES[next() % CITIES.length] ?? ''},` +
          `${(next() % 1_000_000) / 100},2026-${String((next() % 12) + 1).padStart(2, '0')}-${String((next() % 28) + 1).padStart(2, '0')}T00:00:00Z\n`;
        lines.push(line);
        length += line.length;
      }
      const chunk = Buffer.concat([pending, Buffer.from(lines.join(''), 'latin1')]);
      const n = Math.min(left, CHUNK_BYTES);
      left -= n;
      pending = chunk.subarray(n);
      this.push(chunk.subarray(0, n));
    },
  });
}
