import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { INPUT_CHUNK_BYTES, openInput } from '../../shared/pgp/lib/node-to-web.js';

const KIB = 1024;

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const chunk of stream) out.push(chunk);
  return out;
}

/** A Node readable of `count` chunks of `size` bytes, counting how many have been taken from it. */
function counted(count: number, size: number): { input: Readable; taken: () => number } {
  let taken = 0;
  const input = Readable.from(
    (function* () {
      for (let i = 0; i < count; i++) {
        taken++;
        yield Buffer.alloc(size, 1);
      }
    })(),
    { highWaterMark: 1 },
  );
  return { input, taken: () => taken };
}

describe('openInput', () => {
  it('joins 64 KiB reads into chunks of at least INPUT_CHUNK_BYTES, byte for byte', async () => {
    const data = randomBytes(3 * INPUT_CHUNK_BYTES + 5);
    const pieces = Array.from({ length: Math.ceil(data.length / (64 * KIB)) }, (_, i) =>
      data.subarray(i * 64 * KIB, (i + 1) * 64 * KIB),
    );
    const opened = await openInput(Readable.from(pieces));
    const out = await collect(opened.stream);
    expect(Buffer.concat(out).equals(data)).toBe(true);
    expect(out.slice(0, -1).every((c) => c.length >= INPUT_CHUNK_BYTES)).toBe(true);
  });

  // Flat memory: a reader that stops reading leaves at most two chunks' worth read from the input.
  it('reads one chunk ahead of its reader, never the whole input', async () => {
    const { input, taken } = counted(256, 64 * KIB);
    const opened = await openInput(input);
    await sleep(50);
    const ahead = taken() * 64 * KIB;
    expect(ahead).toBeGreaterThanOrEqual(INPUT_CHUNK_BYTES);
    expect(ahead).toBeLessThanOrEqual(INPUT_CHUNK_BYTES + 4 * 64 * KIB);
    const reader = opened.stream.getReader();
    await reader.read();
    await sleep(50);
    expect(taken() * 64 * KIB).toBeLessThanOrEqual(2 * INPUT_CHUNK_BYTES + 4 * 64 * KIB);
    await reader.cancel();
  });

  it('tells ASCII armor from binary packets by the first non-whitespace byte', async () => {
    const armored = await openInput(Readable.from([Buffer.from('\r\n -----BEGIN PGP MESSAGE-----\n')]));
    const binary = await openInput(Readable.from([Buffer.from([0x85, 0x01, 0x0c])]));
    expect(armored.armored).toBe(true);
    expect(binary.armored).toBe(false);
    await Promise.all([armored.stream.cancel(), binary.stream.cancel()]);
  });
});
