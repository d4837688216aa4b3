import { execFileSync } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { decompressor } from '../../shared/ingestion/decompress.js';
import { RunFailure } from '../../shared/ingestion/run-failure.js';
import type { CompressionType } from '../../shared/flows/source-connections.js';

const CSV = Buffer.from(
  Array.from({ length: 5000 }, (_, i) => `${i},Zoë ${i * 7919},${(i * 31.7).toFixed(2)}\n`).join(''),
);

/** Runs `data` through the decompressor in `chunk`-byte pieces; the output is counted, never kept past `keep`. */
async function inflate(type: CompressionType, data: Buffer, maxBytes = 1024 ** 3, chunk = 64 * 1024, maxRatio?: number): Promise<Buffer> {
  const out: Buffer[] = [];
  const pieces = (function* () {
    for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk);
  })();
  await pipeline(
    Readable.from(pieces),
    decompressor(type, maxBytes, maxRatio),
    new Writable({
      write(c: Buffer, _e, cb) {
        out.push(c);
        cb();
      },
    }),
  );
  return Buffer.concat(out);
}

async function failure(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (err instanceof RunFailure) return err.code;
  throw new Error(`expected a RunFailure, got ${String(err)}`);
}

const cli = (cmd: string, args: string[], input: Buffer) => execFileSync(cmd, args, { input, maxBuffer: 1024 ** 3 });

describe('post-decryption decompression', () => {
  it('inflates gzip, bzip2 (one and concatenated streams) and zip byte-identically', async () => {
    expect((await inflate('gzip', gzipSync(CSV))).equals(CSV)).toBe(true);
    const bz = cli('bzip2', ['-c', '-1'], CSV);
    expect((await inflate('bzip2', bz)).equals(CSV)).toBe(true);
    expect((await inflate('bzip2', bz, undefined, 7)).equals(CSV)).toBe(true);
    expect((await inflate('bzip2', Buffer.concat([bz, bz]))).equals(Buffer.concat([CSV, CSV]))).toBe(true);
    expect((await inflate('zip', Buffer.from(zipSync({ 'a.csv': CSV })))).equals(CSV)).toBe(true);
    expect((await inflate('zip', Buffer.from(zipSync({ 'a.csv': [CSV, { level: 0 }] })))).equals(CSV)).toBe(true);
    // Streamed by `zip -` (sizes in a data descriptor after the data), and a directory entry skipped.
    const streamed = cli('zip', ['-q', '-', '-'], CSV);
    expect(streamed.readUInt16LE(6) & 0x08).toBe(0x08);
    expect((await inflate('zip', streamed, undefined, 1000)).equals(CSV)).toBe(true);
    expect(
      (await inflate('zip', Buffer.from(zipSync({ 'dir/': new Uint8Array(0), 'dir/a.csv': CSV })))).equals(CSV),
    ).toBe(true);
  });

  it('refuses a zip with two files, an empty zip and non-zip data with DECOMPRESSION_FAILED', async () => {
    expect(await failure(inflate('zip', Buffer.from(zipSync({ 'a.csv': CSV, 'b.csv': CSV }))))).toBe(
      'DECOMPRESSION_FAILED',
    );
    expect(await failure(inflate('zip', Buffer.from(zipSync({}))))).toBe('DECOMPRESSION_FAILED');
    expect(await failure(inflate('zip', CSV))).toBe('DECOMPRESSION_FAILED');
  });

  it('refuses corrupt and truncated bzip2 and zip with DECOMPRESSION_FAILED', async () => {
    const bz = cli('bzip2', ['-c'], CSV);
    const flipped = Buffer.from(bz);
    flipped[Math.floor(bz.length / 2)] = (flipped[Math.floor(bz.length / 2)] ?? 0) ^ 0x10;
    expect(await failure(inflate('bzip2', flipped))).toBe('DECOMPRESSION_FAILED');
    expect(await failure(inflate('bzip2', bz.subarray(0, bz.length - 20)))).toBe('DECOMPRESSION_FAILED');
    expect(await failure(inflate('bzip2', CSV))).toBe('DECOMPRESSION_FAILED');
    expect(await failure(inflate('bzip2', Buffer.alloc(0)))).toBe('DECOMPRESSION_FAILED');
    const zip = Buffer.from(zipSync({ 'a.csv': CSV }));
    expect(await failure(inflate('zip', zip.subarray(0, Math.floor(zip.length / 2))))).toBe('DECOMPRESSION_FAILED');
    const badZip = Buffer.from(zip);
    badZip[60] = (badZip[60] ?? 0) ^ 0xff;
    expect(await failure(inflate('zip', badZip))).toBe('DECOMPRESSION_FAILED');
  });

  it.each([
    ['bzip2', () => cli('bzip2', ['-c', '-9'], Buffer.alloc(200 * 1024 ** 2))],
    ['zip', () => Buffer.from(zipSync({ 'bomb.csv': new Uint8Array(200 * 1024 ** 2) }, { level: 9 }))],
  ] as const)('stops a %s bomb at the limit with FILE_TOO_LARGE, quickly', async (type, make) => {
    const bomb = make();
    expect(bomb.length).toBeLessThan(1024 ** 2);
    const started = Date.now();
    // The size limit on its own: no ratio limit (test/security/compression-ratio-bomb.test.ts).
    expect(await failure(inflate(type, bomb, 8 * 1024 ** 2, undefined, Infinity))).toBe('FILE_TOO_LARGE');
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
