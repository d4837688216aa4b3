import { execFileSync } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { generateKey } from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { transformWorkerStats } from '../../shared/core/worker-transform.js';
import { decompressor } from '../../shared/ingestion/decompress.js';
import { RunFailure } from '../../shared/ingestion/run-failure.js';
import { BZIP2_WORKER_SLOTS } from '../../shared/pgp/bzip2-inflate.js';
import { PGP_CONFIG } from '../../shared/pgp/config.js';
import { decryptAll, failureOf } from '../pgp/support.js';
import { encryptInnerBytes, packet } from './support/pgp-packets.js';

/**
 * Attack: a bzip2 file of a few hundred bytes stalled every HTTP request of every tenant for
 * 150-300 ms per block: the bzip2 decoder (OpenPGP.js's for Compressed Data packets, and
 * unbzip2-stream's for a flow's `compressionType: bzip2`) decodes a whole block (900 kB, up to
 * 45 MiB inflated) in one synchronous call on the thread that serves HTTP, and the ratio check
 * inside it cannot cut that short. Now every bzip2 inflate runs in a worker thread (kept for the
 * next inflate) and the request thread only copies bytes. Counted here: inflates started in bzip2
 * workers, workers spawned; their
 * outcomes (bytes and codes) are those of the in-thread inflater. The stall itself is the
 * bench's figure 6b.
 */

const PASSPHRASE = 'p';
const MiB = 1024 * 1024;
const CSV = Buffer.from(Array.from({ length: 20_000 }, (_, i) => `${i},row ${i},${i * 7}\n`).join(''));
const cli = (args: string[], input: Buffer) => execFileSync('bzip2', args, { input, maxBuffer: 64 * MiB });

let opts: { privateKeyArmored: string; passphrase: string };
let publicKeyArmored: string;

beforeAll(async () => {
  const key = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'stall' }], passphrase: PASSPHRASE, format: 'object', config: { ...PGP_CONFIG, s2kIterationCountByte: 0 } });
  publicKeyArmored = key.publicKey.armor(PGP_CONFIG);
  opts = { privateKeyArmored: key.privateKey.armor(PGP_CONFIG), passphrase: PASSPHRASE };
});

/** A message whose Compressed Data packet holds `bzip2` bytes around a literal packet. */
async function bzip2Message(inner: Buffer): Promise<Buffer> {
  const literal = packet(11, Buffer.concat([Buffer.of(0x62, 0, 0, 0, 0, 0), inner]));
  return encryptInnerBytes(publicKeyArmored, packet(8, Buffer.concat([Buffer.of(3), cli(['-9', '-c'], literal)])));
}

async function inflateFlow(data: Buffer): Promise<{ bytes: number; error?: unknown }> {
  let bytes = 0;
  try {
    await pipeline(Readable.from([data]), decompressor('bzip2', 1024 ** 3), new Writable({ write: (c: Buffer, _e, cb) => ((bytes += c.length), cb()) }));
    return { bytes };
  } catch (error) {
    return { bytes, error };
  }
}

describe('attack: bzip2 blocks decoded on the thread that serves HTTP', () => {
  it('inflates a bzip2 packet in a worker, byte for byte', async () => {
    const before = BZIP2_WORKER_SLOTS.stats().started;
    const { plaintext } = await decryptAll(await bzip2Message(CSV), opts);
    expect(plaintext.equals(CSV)).toBe(true);
    expect(BZIP2_WORKER_SLOTS.stats().started).toBe(before + 1);
    expect(BZIP2_WORKER_SLOTS.stats().running).toBe(0);
  });

  it('refuses a bzip2 packet bomb in its worker with COMPRESSION_RATIO_EXCEEDED', async () => {
    const before = BZIP2_WORKER_SLOTS.stats().started;
    const err = await failureOf(await bzip2Message(Buffer.alloc(40 * MiB)), opts);
    expect(err.code).toBe('COMPRESSION_RATIO_EXCEEDED');
    expect(BZIP2_WORKER_SLOTS.stats().started).toBe(before + 1);
    expect(BZIP2_WORKER_SLOTS.stats().running).toBe(0);
  });

  it("inflates a flow's compressionType bzip2 in a worker, and refuses its bomb and corruption with the same codes", async () => {
    const before = BZIP2_WORKER_SLOTS.stats().started;
    expect(await inflateFlow(cli(['-c'], CSV))).toEqual({ bytes: CSV.length });
    const spawned = transformWorkerStats().spawned;
    const bomb = await inflateFlow(cli(['-9', '-c'], Buffer.alloc(40 * MiB)));
    expect(bomb.error).toBeInstanceOf(RunFailure);
    expect((bomb.error as RunFailure).code).toBe('COMPRESSION_RATIO_EXCEEDED');
    // Stopped within a few MiB of the 4 MiB the ratio exempts, as in-thread.
    expect(bomb.bytes).toBeLessThanOrEqual(8 * MiB);
    const corrupt = await inflateFlow(cli(['-c'], CSV).subarray(0, 200));
    expect((corrupt.error as RunFailure).code).toBe('DECOMPRESSION_FAILED');
    expect(BZIP2_WORKER_SLOTS.stats().started).toBe(before + 3);
    expect(BZIP2_WORKER_SLOTS.stats().running).toBe(0);
    // One after another, they reuse the worker (its modules loaded once), failures included.
    expect(transformWorkerStats().spawned).toBe(spawned);
    expect(transformWorkerStats().idle).toBeGreaterThanOrEqual(1);
  });
});
