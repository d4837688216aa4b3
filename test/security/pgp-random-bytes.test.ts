import { createHash, randomBytes } from 'node:crypto';
import { generateKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PGP_CONFIG } from '../../shared/pgp/config.js';
import { GpgHome } from '../support/gpg.js';
import { outcomeOf, packet } from './support/pgp-packets.js';

/**
 * Attack (misdirection): random bytes named `.csv.gpg`, such as a file encrypted with another
 * tool. About one in ten began with what parses as a packet header of an unknown tag or an
 * undefined version, and failed as UNSUPPORTED_PGP_FEATURE ("uses an unsupported OpenPGP feature"),
 * which sends the customer to change gpg's settings; a few more parsed as an unencrypted message
 * and failed as NOT_ENCRYPTED_FOR_THIS_KEY. Bytes that do not begin like an OpenPGP message must
 * fail MALFORMED_PGP_MESSAGE. The one exception is a first packet of tag 9, the legacy
 * Symmetrically Encrypted Data packet: it has no version octet to tell it from noise, and is
 * refused as INTEGRITY_CHECK_MISSING on its tag alone. A real message that uses a feature we do
 * not read still fails UNSUPPORTED_PGP_FEATURE.
 */

const PASSPHRASE = 'p';
const SAMPLES = 512;
let opts: { privateKeyArmored: string; passphrase: string; stallTimeoutMs: number };
let gpg: GpgHome;
let fingerprint: string;

beforeAll(async () => {
  const key = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'random' }], passphrase: PASSPHRASE, format: 'object', config: { ...PGP_CONFIG, s2kIterationCountByte: 0 } });
  opts = { privateKeyArmored: key.privateKey.armor(PGP_CONFIG), passphrase: PASSPHRASE, stallTimeoutMs: 1_000 };
  gpg = await GpgHome.create();
  await gpg.importKey(key.publicKey.armor(PGP_CONFIG));
  fingerprint = key.publicKey.getFingerprint();
});
afterAll(async () => gpg?.dispose());

/** 4 KiB of deterministic pseudo-random bytes: the same samples on every run. */
function sample(i: number): Buffer {
  return Buffer.concat(Array.from({ length: 64 }, (_, j) => createHash('sha512').update(`random ${i} ${j}`).digest()));
}

/** The packet tag the first octet names (RFC 9580 §4.2), if it is a packet header at all. */
function firstTag(data: Buffer): number | undefined {
  const first = data[0] ?? 0;
  if ((first & 0x80) === 0) return undefined;
  return (first & 0x40) !== 0 ? first & 0x3f : (first >> 2) & 0x0f;
}

describe('random bytes as an encrypted file', () => {
  it(`fails ${SAMPLES} random 4 KiB files with MALFORMED_PGP_MESSAGE, never UNSUPPORTED_PGP_FEATURE`, async () => {
    const codes: Record<string, number> = {};
    const wrong: string[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const data = sample(i);
      const outcome = await outcomeOf(data, opts);
      const code = outcome.code ?? String(outcome.error);
      codes[code] = (codes[code] ?? 0) + 1;
      const expected = firstTag(data) === 9 ? 'INTEGRITY_CHECK_MISSING' : 'MALFORMED_PGP_MESSAGE';
      if (code !== expected) wrong.push(`sample ${i} (first octet 0x${data[0]?.toString(16)}): ${code}`);
    }
    console.info(`random samples: ${JSON.stringify(codes)}`);
    expect(wrong).toEqual([]);
  }, 120_000);

  it('fails a packet of an unknown tag or of a version no standard defines with MALFORMED_PGP_MESSAGE', async () => {
    const real = await gpg.encrypt('id\n1\n', fingerprint);
    for (const [label, data] of [
      ['tag 30 first', Buffer.concat([packet(30, randomBytes(40)), real])],
      ['tag 15 in a legacy header', Buffer.concat([Buffer.of(0x80 | (15 << 2), 10), randomBytes(10), real])],
      ['a PKESK of version 77', Buffer.concat([packet(1, Buffer.concat([Buffer.of(77), randomBytes(60)])), real])],
      ['a signature of version 9', Buffer.concat([packet(2, Buffer.concat([Buffer.of(9), randomBytes(60)])), real])],
    ] as const) {
      expect((await outcomeOf(data, opts)).code, label).toBe('MALFORMED_PGP_MESSAGE');
    }
  });

  it('still fails a real message that uses a feature we do not read with UNSUPPORTED_PGP_FEATURE', async () => {
    // Encrypted to us and to a post-quantum recipient (ML-KEM-768+X25519, algorithm 35), whose
    // session key packet OpenPGP.js 6.3 does not parse.
    const real = await gpg.encrypt('id\n1\n', fingerprint);
    const pqc = packet(1, Buffer.concat([Buffer.of(3), randomBytes(8), Buffer.of(35), randomBytes(1120)]));
    expect((await outcomeOf(Buffer.concat([pqc, real]), opts)).code).toBe('UNSUPPORTED_PGP_FEATURE');
  });
});
