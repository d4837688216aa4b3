import { generateKey } from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { PARSER_STALL_MS } from '../../shared/pgp/decrypt-stream.js';
import { PGP_CONFIG } from '../../shared/pgp/config.js';
import { PgpError } from '../../shared/pgp/errors.js';
import { compressedPacket, encryptInnerBytes, literalPacket, outcomeOf, packetHeader } from './support/pgp-packets.js';

/**
 * Attack: a message whose integrity-protected content starts with a streamed data packet that is
 * not allowed there (a SED, SEIPD or AEAD packet inside SEIPD). OpenPGP.js 6.3.2 stores the
 * grammar error until the inner packet's stream is read, which nothing ever does: `decrypt()`
 * never settles, and the queue-triggered ingestion (holding its BlobCreated message) would hang
 * until the host's function timeout kills it, on every redelivery. Anyone holding our public key
 * and a landing zone's SAS can send one. Found by pgp-hostile-message-bytes.test.ts. decryptStream now refuses a parser that
 * makes no progress for `stallTimeoutMs` (default {@link PARSER_STALL_MS}).
 */

let publicKeyArmored: string;
let privateKeyArmored: string;

beforeAll(async () => {
  const key = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'deadlock' }], passphrase: 'p', format: 'object', config: { ...PGP_CONFIG, s2kIterationCountByte: 0 } });
  publicKeyArmored = key.publicKey.armor(PGP_CONFIG);
  privateKeyArmored = key.privateKey.armor(PGP_CONFIG);
});

describe('OpenPGP.js parser deadlock on a forbidden inner data packet', () => {
  it.each([
    ['a SED packet (tag 9), old format', Buffer.of(0xa5, 0x01, 0x08)],
    ['a SED packet (tag 9), partial length', Buffer.of(0xc9, 0xe1, 0x47, 0x11)],
    ['a SEIPD packet (tag 18)', Buffer.concat([packetHeader(18, 0x7fffffff, true), Buffer.of(1, 2, 3)])],
    ['an AEAD packet (tag 20)', Buffer.concat([packetHeader(20, 40), Buffer.alloc(40, 1)])],
    ['a SEIPD packet wrapping a literal', Buffer.concat([packetHeader(18, 20), literalPacket(Buffer.from('abcdefghijkl'))])],
  ])('refuses %s first inside SEIPD with INTEGRITY_CHECK_FAILED instead of hanging', async (_label, inner) => {
    const message = await encryptInnerBytes(publicKeyArmored, inner);
    const outcome = await outcomeOf(message, { privateKeyArmored, passphrase: 'p', stallTimeoutMs: 300 }, 5_000);
    expect(outcome.error, String(outcome.error)).toBeInstanceOf(PgpError);
    expect(outcome.code).toBe('INTEGRITY_CHECK_FAILED');
    expect(outcome.ms).toBeLessThan(2_000);
  });

  it('still decrypts a valid message that starts slowly (the stall timer counts input activity)', async () => {
    const message = await encryptInnerBytes(publicKeyArmored, compressedPacket(1, literalPacket(Buffer.alloc(3 * 1024 * 1024, 7))));
    const outcome = await outcomeOf(message, { privateKeyArmored, passphrase: 'p', stallTimeoutMs: 300 }, 10_000, 0);
    expect(outcome.ok, String(outcome.error)).toBe(true);
  });

  it('uses a default stall timeout well above any honest parse and below host timeouts', () => {
    expect(PARSER_STALL_MS).toBeGreaterThanOrEqual(10_000);
    expect(PARSER_STALL_MS).toBeLessThanOrEqual(60_000);
  });
});
