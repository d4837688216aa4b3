import { armor, enums, generateKey } from 'openpgp';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PGP_CONFIG } from '../../shared/pgp/config.js';
import { PgpError } from '../../shared/pgp/errors.js';
import { GpgHome } from '../support/gpg.js';
import { MESSAGE_FAILURE_CODES, encryptInnerBytes, literalPacket, outcomeOf, packetHeader, type Outcome } from './support/pgp-packets.js';

/**
 * Attack: arbitrary bytes as an "encrypted file": random data, armored random data, random
 * packet sequences with any tag and length encoding, and single-point mutations (bit flips,
 * truncation, insertion, deletion, splicing) of real gpg messages, binary and armored.
 * Property: for ANY such input, `decryptStream` either yields the exact plaintext of the valid
 * message it came from, or fails with a `PgpError` whose code is in the closed set; never another
 * exception type, never a hang (each run is bounded by a timeout).
 */

const PASSPHRASE = 'p';
const TIMEOUT_MS = 10_000;
/** Short, so the OpenPGP.js deadlock (see pgp-parser-deadlock.test.ts) costs little per hit. */
const STALL_MS = 500;
const PLAINTEXT = Buffer.from('id,name\n1,Ada\n2,Grace\n'.repeat(40));

let privateKeyArmored: string;
let publicKeyArmored: string;
let gpg: GpgHome;
let valid: { name: string; bytes: Buffer }[];
let tried = 0;

beforeAll(async () => {
  // A minimal S2K count: each run unlocks the key, and this file runs a thousand of them.
  // (The flow key type, gpg 2.2 readable, as generate-key-pair.ts makes it.)
  const key = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'hostile' }], passphrase: PASSPHRASE, format: 'object', config: { ...PGP_CONFIG, s2kIterationCountByte: 0 } });
  privateKeyArmored = key.privateKey.armor(PGP_CONFIG);
  publicKeyArmored = key.publicKey.armor(PGP_CONFIG);
  gpg = await GpgHome.create();
  await gpg.importKey(publicKeyArmored);
  const fpr = key.publicKey.getFingerprint();
  valid = [
    { name: 'gpg binary zlib', bytes: await gpg.encrypt(PLAINTEXT, fpr, ['--compress-algo', 'zlib']) },
    { name: 'gpg binary uncompressed', bytes: await gpg.encrypt(PLAINTEXT, fpr, ['--compress-algo', 'none']) },
    { name: 'gpg armored bzip2', bytes: await gpg.encrypt(PLAINTEXT, fpr, ['--armor', '--compress-algo', 'bzip2']) },
    { name: 'built SEIPDv1', bytes: await encryptInnerBytes(publicKeyArmored, literalPacket(PLAINTEXT)) },
  ];
}, 60_000);
afterAll(async () => gpg?.dispose());

/**
 * Decrypts `data` and checks the outcome: the `expected` plaintext, any plaintext (`'any'`: the
 * inner packets were built behind a valid integrity check and may form a valid message), or a
 * closed-set PgpError.
 */
async function expectClosed(data: Buffer, expected?: Buffer | 'any'): Promise<Outcome> {
  tried++;
  const outcome = await outcomeOf(data, { privateKeyArmored, passphrase: PASSPHRASE, stallTimeoutMs: STALL_MS }, TIMEOUT_MS);
  if (outcome.ok) {
    expect(expected, 'decrypted a message that is not a valid one').toBeDefined();
    if (expected !== 'any') expect(outcome.plaintext?.equals(expected ?? Buffer.alloc(0))).toBe(true);
  } else {
    expect(outcome.error, String(outcome.error)).toBeInstanceOf(PgpError);
    expect(MESSAGE_FAILURE_CODES).toContain(outcome.code);
  }
  return outcome;
}

/** One packet: any tag, any length encoding (old or new format, partial, 5-octet), any body. */
const rawPacket = fc
  .record({
    tag: fc.integer({ min: 0, max: 63 }),
    format: fc.constantFrom('new', 'new5', 'partial', 'old1', 'old2', 'old4', 'oldIndeterminate'),
    claimed: fc.oneof(fc.nat(300), fc.constantFrom(0xffffffff, 0x7fffffff, 1 << 30, 8383, 8384)),
    body: fc.uint8Array({ maxLength: 64 }),
  })
  .map(({ tag, format, claimed, body }) => {
    const oldTag = 0x80 | ((tag & 0x0f) << 2);
    let header: Buffer;
    switch (format) {
      case 'new':
        header = packetHeader(tag, claimed);
        break;
      case 'new5':
        header = packetHeader(tag, claimed, true);
        break;
      case 'partial':
        header = Buffer.of(0xc0 | tag, 0xe0 | (claimed % 31));
        break;
      case 'old1':
        header = Buffer.of(oldTag, claimed & 0xff);
        break;
      case 'old2':
        header = Buffer.of(oldTag | 1, (claimed >> 8) & 0xff, claimed & 0xff);
        break;
      case 'old4': {
        header = Buffer.alloc(5);
        header[0] = oldTag | 2;
        header.writeUInt32BE(claimed >>> 0, 1);
        break;
      }
      case 'oldIndeterminate':
        header = Buffer.of(oldTag | 3);
        break;
    }
    return Buffer.concat([header, body]);
  });

describe('hostile OpenPGP message bytes', () => {
  it('fails any random bytes with a closed PgpError code', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), async (bytes) => {
        await expectClosed(Buffer.from(bytes));
      }),
      { numRuns: 120 },
    );
  });

  it('fails any armored random bytes with a closed PgpError code', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.boolean(), async (bytes, breakChecksum) => {
        let text = armor(enums.armor.message, bytes);
        if (breakChecksum) text = text.replace(/\n=....\n/, '\n=AAAA\n');
        await expectClosed(Buffer.from(text));
      }),
      { numRuns: 80 },
    );
  });

  it('fails any sequence of raw packets (any tag and length encoding) with a closed code', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(rawPacket, { minLength: 1, maxLength: 4 }), fc.boolean(), async (packets, withArmor) => {
        const bytes = Buffer.concat(packets);
        await expectClosed(withArmor ? Buffer.from(armor(enums.armor.message, bytes)) : bytes);
      }),
      { numRuns: 150 },
    );
  });

  it('fails any raw packets behind a valid integrity check with a closed code', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(rawPacket, { minLength: 1, maxLength: 3 }), async (packets) => {
        await expectClosed(await encryptInnerBytes(publicKeyArmored, Buffer.concat(packets)), 'any');
      }),
      { numRuns: 80 },
    );
  });

  it('decrypts a mutated real message only to its exact plaintext, else fails with a closed code', async () => {
    const mutation = fc.record({
      which: fc.nat(),
      op: fc.constantFrom('flip', 'truncate', 'insert', 'delete', 'splice', 'duplicate'),
      at: fc.nat(),
      bit: fc.nat(7),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
    });
    await fc.assert(
      fc.asyncProperty(mutation, async ({ which, op, at, bit, bytes }) => {
        const source = valid[which % valid.length]?.bytes ?? Buffer.alloc(0);
        const i = at % source.length;
        let hostile: Buffer;
        switch (op) {
          case 'flip':
            hostile = Buffer.from(source);
            hostile[i] = (hostile[i] ?? 0) ^ (1 << bit);
            break;
          case 'truncate':
            hostile = source.subarray(0, i);
            break;
          case 'insert':
            hostile = Buffer.concat([source.subarray(0, i), bytes, source.subarray(i)]);
            break;
          case 'delete':
            hostile = Buffer.concat([source.subarray(0, i), source.subarray(i + bytes.length)]);
            break;
          case 'splice':
            hostile = Buffer.concat([source.subarray(0, i), (valid[(which + 1) % valid.length]?.bytes ?? Buffer.alloc(0)).subarray(i)]);
            break;
          case 'duplicate':
            hostile = Buffer.concat([source, source]);
            break;
        }
        await expectClosed(hostile, PLAINTEXT);
      }),
      { numRuns: 250 },
    );
  });

  it('decrypts each untouched source message (the property above is not vacuous)', async () => {
    for (const { name, bytes } of valid) {
      const outcome = await expectClosed(bytes, PLAINTEXT);
      expect(outcome.ok, name).toBe(true);
    }
  });

  it('tried every input it reports', () => {
    // 120 + 80 + 150 + 80 + 250 property runs plus the sources.
    expect(tried).toBeGreaterThanOrEqual(684);
  });
});
