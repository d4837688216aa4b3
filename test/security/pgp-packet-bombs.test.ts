import { generateKey } from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_FILE_BYTES, PGP_CONFIG } from '../../shared/pgp/config.js';
import { PgpError } from '../../shared/pgp/errors.js';
import { compressedPacket, deflateBomb, encryptInnerBytes, literalPacket, outcomeOf, packet, packetHeader } from './support/pgp-packets.js';

/**
 * Attack: packet-structure bombs. Compressed packets nested thousands deep (stack and memory per
 * level), length fields that claim 4 GiB on a file of a few bytes (a parser that allocates or
 * waits for the claimed length), and a compression bomb of the default limit: ~1.5 MiB that
 * inflates to 1.5 GiB, past MAX_FILE_BYTES. Each must fail with a stable code, fast, in bounded
 * memory.
 */

const PASSPHRASE = 'p';
let publicKeyArmored: string;
let opts: { privateKeyArmored: string; passphrase: string; stallTimeoutMs: number };

beforeAll(async () => {
  const key = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'bombs' }], passphrase: PASSPHRASE, format: 'object', config: { ...PGP_CONFIG, s2kIterationCountByte: 0 } });
  publicKeyArmored = key.publicKey.armor(PGP_CONFIG);
  opts = { privateKeyArmored: key.privateKey.armor(PGP_CONFIG), passphrase: PASSPHRASE, stallTimeoutMs: 1_000 };
});

function nested(depth: number, algorithm: 0 | 1 | 2): Buffer {
  const literal = literalPacket(Buffer.from('x'));
  if (algorithm !== 0) {
    let inner = literal;
    for (let i = 0; i < depth; i++) inner = compressedPacket(algorithm, inner);
    return inner;
  }
  // Uncompressed levels only prepend headers: build them inside out, concatenate once.
  const headers: Buffer[] = [];
  let length = literal.length;
  for (let i = 0; i < depth; i++) {
    const header = Buffer.concat([packetHeader(8, length + 1), Buffer.of(0)]);
    headers.push(header);
    length += header.length;
  }
  return Buffer.concat([...headers.reverse(), literal]);
}

describe('packet nesting bombs', () => {
  it('reads one level of compression (the bombs below are not refused for their framing)', async () => {
    for (const algorithm of [0, 1, 2] as const) {
      const outcome = await outcomeOf(await encryptInnerBytes(publicKeyArmored, nested(1, algorithm)), opts);
      expect(outcome.plaintext?.toString()).toBe('x');
    }
  });

  it.each([
    [2, 0],
    [2, 2],
    [200, 1],
    [200, 2],
    [1_000, 0],
    [100_000, 0],
  ] as const)('refuses compressed packets nested %i deep (algorithm %i) with INTEGRITY_CHECK_FAILED, fast', async (depth, algorithm) => {
    const message = await encryptInnerBytes(publicKeyArmored, nested(depth, algorithm));
    const rss = process.memoryUsage().rss;
    const outcome = await outcomeOf(message, opts);
    // OpenPGP.js allows no compressed packet inside another: refused at the second level, after
    // decryption began, hence the one late code (decrypt-stream.ts: no oracle between parsers).
    expect(outcome.error).toBeInstanceOf(PgpError);
    expect(outcome.code).toBe('INTEGRITY_CHECK_FAILED');
    expect(outcome.ms).toBeLessThan(2_000);
    expect(process.memoryUsage().rss - rss).toBeLessThan(128 * 1024 * 1024);
  });
});

describe('oversized length fields', () => {
  const FOUR_GIB = 0xffffffff;
  const literalBody = Buffer.of(0x62, 0, 0, 0, 0, 0, 0x41, 0x42);

  it.each([
    ['a session key packet', () => Buffer.concat([packetHeader(1, FOUR_GIB, true), Buffer.alloc(20, 3)])],
    ['an encrypted data packet', () => Buffer.concat([packetHeader(18, FOUR_GIB, true), Buffer.of(1), Buffer.alloc(40, 7)])],
    ['an old-format 4-octet length', () => Buffer.of(0x86, 0xff, 0xff, 0xff, 0xff, 1, 2, 3)],
    ['a partial length chain that stops', () => Buffer.of(0xd2, 0xfe, 1, 2, 3)],
    ['a first partial length below 512', () => Buffer.of(0xd2, 0xe1, 1, 2)],
  ])('refuses %s claiming 4 GiB on a short file with a header code, fast', async (_label, build) => {
    const outcome = await outcomeOf(build(), opts);
    expect(outcome.error).toBeInstanceOf(PgpError);
    expect(['MALFORMED_PGP_MESSAGE', 'UNSUPPORTED_PGP_FEATURE', 'NOT_ENCRYPTED_FOR_THIS_KEY']).toContain(outcome.code);
    expect(outcome.ms).toBeLessThan(2_000);
  });

  it.each([
    ['the outer encrypted data packet', async () => {
      const good = await encryptInnerBytes(publicKeyArmored, literalPacket(Buffer.from('x')));
      // The SEIPD packet follows the PKESK; rewrite its header to claim 4 GiB.
      const seipdAt = good.lastIndexOf(0xd2);
      const { length } = good;
      const bodyStart = good[seipdAt + 1] === 0xff ? seipdAt + 6 : (good[seipdAt + 1] ?? 0) >= 192 ? seipdAt + 3 : seipdAt + 2;
      expect(bodyStart).toBeLessThan(length);
      return Buffer.concat([good.subarray(0, seipdAt), packetHeader(18, FOUR_GIB, true), good.subarray(bodyStart)]);
    }],
    ['a literal packet inside', () => encryptInnerBytes(publicKeyArmored, Buffer.concat([packetHeader(11, FOUR_GIB, true), literalBody]))],
    ['a compressed packet inside', () => encryptInnerBytes(publicKeyArmored, Buffer.concat([packetHeader(8, FOUR_GIB, true), Buffer.of(0), literalPacket(Buffer.from('x'))]))],
  ])('refuses %s claiming 4 GiB with INTEGRITY_CHECK_FAILED, fast', async (_label, build) => {
    const outcome = await outcomeOf(await build(), opts);
    expect(outcome.error).toBeInstanceOf(PgpError);
    expect(outcome.code).toBe('INTEGRITY_CHECK_FAILED');
    expect(outcome.ms).toBeLessThan(2_000);
  });
});

describe('a compression bomb past the default limit', () => {
  it('stops ~1.5 MiB that inflates to 1.5 GiB with FILE_TOO_LARGE at MAX_FILE_BYTES, in bounded memory', async () => {
    const GiB = 1024 ** 3;
    const zeros = 1536; // MiB
    // A literal packet claiming 1.5 GiB of zeros, raw-deflated (ZIP) inside a compressed packet.
    const literalHead = Buffer.concat([packetHeader(11, 6 + zeros * 1024 * 1024, true), Buffer.of(0x62, 0, 0, 0, 0, 0)]);
    const bomb = packet(8, Buffer.concat([Buffer.of(1), deflateBomb(literalHead, zeros)]));
    const message = await encryptInnerBytes(publicKeyArmored, bomb);
    expect(message.length).toBeLessThan(2 * 1024 * 1024);
    expect(zeros * 1024 * 1024).toBeGreaterThan(MAX_FILE_BYTES + 0.25 * GiB);

    const rss = process.memoryUsage().rss;
    let peak = rss;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    // The default maxBytes (MAX_FILE_BYTES): the plaintext is counted and discarded as it comes.
    // No ratio limit, which would stop it at a few MiB (compression-ratio-bomb.test.ts).
    const outcome = await outcomeOf(message, { privateKeyArmored: opts.privateKeyArmored, passphrase: PASSPHRASE, maxCompressionRatio: Infinity }, 60_000, 0);
    clearInterval(sampler);
    expect(outcome.code).toBe('FILE_TOO_LARGE');
    expect((outcome.error as PgpError).maxBytes).toBe(MAX_FILE_BYTES);
    // It has to inflate 1 GiB before it knows; it must not hold it.
    expect(peak - rss).toBeLessThan(256 * 1024 * 1024);
    expect(outcome.ms).toBeLessThan(45_000);
  }, 90_000);
});
