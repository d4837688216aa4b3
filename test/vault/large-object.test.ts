import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStore, readAll, startVaultFixture, uniqueOrg, type VaultFixture } from './support.js';

const MiB = 1024 * 1024;
const OBJECT_BYTES = 1024 * MiB;
const BLOCK_BYTES = 4 * MiB;
const RSS_GROWTH_LIMIT = 200 * MiB;

let fixture: VaultFixture;

beforeAll(async () => {
  fixture = await startVaultFixture();
});

afterAll(async () => {
  await fixture?.stop();
});

/**
 * `total` bytes of cheap pseudo-random data: one random block, each copy stamped with its index so
 * that a reordered, dropped or repeated block changes the digest.
 */
function generate(total: number, hash: ReturnType<typeof createHash>): Readable {
  const base = Buffer.alloc(BLOCK_BYTES);
  for (let i = 0; i < base.length; i += 4) base.writeUInt32LE((i * 2654435761) >>> 0, i);
  let index = 0;
  return Readable.from(
    (function* () {
      for (let sent = 0; sent < total; sent += BLOCK_BYTES) {
        const block = Buffer.allocUnsafe(Math.min(BLOCK_BYTES, total - sent));
        base.copy(block, 0, 0, block.length);
        block.writeUInt32LE(index++, 0);
        hash.update(block);
        yield block;
      }
    })(),
  );
}

describe('large objects', () => {
  it(
    'round-trips a 1 GiB object with flat memory (RSS growth < 200 MiB) and an identical SHA-256',
    async () => {
      const { store } = buildStore(fixture, { table: await fixture.newTable(), kek: (await fixture.newKek()).ref });
      const scope = { orgId: uniqueOrg(), sandbox: 'prod' };
      // Warm up clients, container, root key and code paths so the baseline is the steady state.
      await store.put(scope, 'warm-up', generate(8 * MiB, createHash('sha256')));
      await readAll(await store.get(scope, 'warm-up'));
      global.gc?.();
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
      try {
        const written = createHash('sha256');
        const t0 = performance.now();
        await store.put(scope, 'one-gib', generate(OBJECT_BYTES, written));
        const t1 = performance.now();
        const read = createHash('sha256');
        let bytes = 0;
        await pipeline(
          await store.get(scope, 'one-gib'),
          new Writable({
            highWaterMark: 4 * MiB,
            write(chunk: Buffer, _encoding, callback) {
              bytes += chunk.length;
              read.update(chunk);
              callback();
            },
          }),
        );
        const t2 = performance.now();
        const growth = peak - baseline;
        console.log(
          `1 GiB: put ${((t1 - t0) / 1000).toFixed(1)} s, get ${((t2 - t1) / 1000).toFixed(1)} s, ` +
            `RSS baseline ${(baseline / MiB).toFixed(0)} MiB, peak growth ${(growth / MiB).toFixed(0)} MiB`,
        );
        expect(bytes).toBe(OBJECT_BYTES);
        expect(read.digest('hex')).toBe(written.digest('hex'));
        expect(growth).toBeLessThan(RSS_GROWTH_LIMIT);
      } finally {
        clearInterval(sampler);
      }
    },
    240_000,
  );
});
