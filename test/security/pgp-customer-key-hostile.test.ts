import { armor, enums, generateKey } from 'openpgp';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { PGP_CONFIG } from '../../shared/pgp/config.js';
import { PgpError, type PgpErrorCode } from '../../shared/pgp/errors.js';
import { MAX_ARMORED_KEY_LENGTH, validateSigningKey } from '../../shared/pgp/validate-signing-key.js';
import { packetHeader } from './support/pgp-packets.js';

/**
 * Attack: a hostile "public key" registered as a customer's signature-verification key: any
 * string, armored random packets, armored 4 GiB length claims, and single-point mutations of a
 * real key (binary bytes under valid armor, and the armor text itself).
 * Property: for ANY input, `validateSigningKey` resolves with a key or rejects with a PgpError
 * whose code is one of the documented registration codes; never another exception, never a hang.
 */

const KEY_CODES: readonly PgpErrorCode[] = ['INVALID_PUBLIC_KEY', 'PRIVATE_KEY_NOT_ALLOWED', 'KEY_EXPIRED', 'KEY_REVOKED', 'KEY_TOO_WEAK', 'NO_SIGNING_KEY', 'UNSUPPORTED_PGP_FEATURE'];

let realBinary: Uint8Array;
let realArmored: string;
let tried = 0;

beforeAll(async () => {
  const key = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'customer' }], format: 'object', config: PGP_CONFIG });
  realBinary = key.publicKey.write();
  realArmored = key.publicKey.armor(PGP_CONFIG);
});

async function expectClosed(input: string): Promise<'ok' | PgpErrorCode> {
  tried++;
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    validateSigningKey(input).then(
      () => 'ok' as const,
      (err: unknown) => err,
    ),
    new Promise((resolve) => (timer = setTimeout(() => resolve(new Error('timed out')), 5_000))),
  ]);
  clearTimeout(timer);
  if (outcome === 'ok') return 'ok';
  expect(outcome, String(outcome)).toBeInstanceOf(PgpError);
  expect(KEY_CODES).toContain((outcome as PgpError).code);
  return (outcome as PgpError).code;
}

describe('hostile customer public keys', () => {
  it('accepts the real key (the mutations below start from a valid one)', async () => {
    expect(await expectClosed(realArmored)).toBe('ok');
  });

  it('refuses any string with a registration code', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ maxLength: 20 }).map((s) => `-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n${s}\n-----END PGP PUBLIC KEY BLOCK-----\n`)), async (input) => {
        expect(await expectClosed(input)).not.toBe('ok');
      }),
      { numRuns: 300 },
    );
  });

  it('refuses armored random packets and 4 GiB length claims with a registration code', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 63 }), fc.constantFrom(0, 5, 191, 8383, 0xffffffff), fc.uint8Array({ maxLength: 80 }), fc.boolean(), async (tag, claimed, body, five) => {
        const bytes = Buffer.concat([packetHeader(tag, claimed, five), body]);
        expect(await expectClosed(armor(enums.armor.publicKey, bytes))).not.toBe('ok');
      }),
      { numRuns: 200 },
    );
  });

  it('accepts a mutated real key only if it still verifies, else refuses it with a registration code', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.nat(7), fc.constantFrom('flip', 'truncate', 'textFlip'), async (at, bit, how) => {
        if (how === 'textFlip') {
          const i = at % realArmored.length;
          const text = realArmored.slice(0, i) + String.fromCharCode(realArmored.charCodeAt(i) ^ (1 << bit)) + realArmored.slice(i + 1);
          await expectClosed(text);
          return;
        }
        const bytes = Buffer.from(realBinary);
        const i = at % bytes.length;
        const hostile = how === 'flip' ? ((bytes[i] = (bytes[i] ?? 0) ^ (1 << bit)), bytes) : bytes.subarray(0, i);
        await expectClosed(armor(enums.armor.publicKey, hostile));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses an oversized armored key with INVALID_PUBLIC_KEY without parsing it', async () => {
    const started = performance.now();
    expect(await expectClosed(`${realArmored}\n${' '.repeat(MAX_ARMORED_KEY_LENGTH)}`)).toBe('INVALID_PUBLIC_KEY');
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('tried every input it reports', () => {
    expect(tried).toBeGreaterThanOrEqual(802);
  });
});
