import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppError, HpkeReplayError, type ErrorCode } from '../../shared/errors.js';
import { cipherSuite } from '../../shared/hpke/cipher-suite.js';
import { encryptRequest } from '../../shared/hpke/client.js';
import { parseClientKeyId } from '../../shared/hpke/client-keys.js';
import { validateClientPublicKey } from '../../shared/hpke/client-public-key.js';
import { openRequest, type OpenRequestDeps } from '../../shared/hpke/open-request.js';
import type { ReplayCache } from '../../shared/hpke/replay-cache.js';
import type { LoadedServerKey, ServerKeyRing } from '../../shared/hpke/server-keys.js';
import { AEADS, DEFAULT_SUITE, KEMS } from '../../shared/hpke/suites.js';
import { HEADER_LENGTH, acceptsHpke, decodeHeader, encodeHeader, joinMessage, splitMessage } from '../../shared/hpke/wire-format.js';
import { statusOf } from '../../shared/http/problems.js';

/**
 * Attack: hostile HPKE request bodies and client keys: random bytes, truncated or extended
 * bodies, bit flips anywhere, a header naming another key or suite, a request moved to another
 * path, method or time, small-order and off-curve public keys.
 * Properties: for ANY body and timestamp, `openRequest` either returns the exact plaintext of an
 * untampered request or rejects with one of the HPKE codes; every tampering of a valid request
 * fails with the one opaque HPKE_DECRYPT_FAILED (same message); for ANY bytes,
 * `validateClientPublicKey` accepts or throws HPKE_INVALID_PUBLIC_KEY.
 */

const KEY_ID = 7;
const TENANT = { org: 'HOSTILE01@AdobeOrg', sandbox: 'prod' };
const NOW_MS = Date.parse('2030-01-01T00:00:00Z');
const NOW_S = NOW_MS / 1000;
const OPEN_CODES: readonly ErrorCode[] = ['HPKE_UNKNOWN_KEY', 'HPKE_UNSUPPORTED_SUITE', 'HPKE_TIMESTAMP_SKEW', 'HPKE_DECRYPT_FAILED', 'HPKE_REPLAY'];

/** In-memory collaborators: the ring holds one X25519 key; the replay cache is a set. */
function memoryReplay(): ReplayCache {
  const seen = new Set<string>();
  return {
    remember(keyId, enc) {
      const k = createHash('sha256').update(Buffer.of(keyId)).update(enc).digest('hex');
      if (seen.has(k)) return Promise.reject(new HpkeReplayError());
      seen.add(k);
      return Promise.resolve();
    },
    purge: () => Promise.resolve(0),
  };
}

let deps: OpenRequestDeps;
let publicKey: string;

beforeAll(async () => {
  const suite = cipherSuite(DEFAULT_SUITE);
  const keyPair = await suite.kem.generateKeyPair();
  publicKey = Buffer.from(await suite.kem.serializePublicKey(keyPair.publicKey)).toString('base64url');
  const key: LoadedServerKey = { keyId: KEY_ID, kemId: KEMS.X25519_HKDF_SHA256.id, keyPair, activeFrom: 0, activeUntil: NOW_MS * 2 };
  const ring: ServerKeyRing = {
    published: () => Promise.resolve([]),
    find: (id) => Promise.resolve(id === KEY_ID ? key : undefined),
    acceptedIds: () => Promise.resolve([KEY_ID]),
    invalidate: () => undefined,
  };
  deps = { keys: ring, replay: memoryReplay(), clock: { now: () => NOW_MS } };
});

async function seal(body: Uint8Array, aead: (typeof AEADS)[keyof typeof AEADS] = AEADS.AES_256_GCM) {
  return encryptRequest({ serverKey: { keyId: KEY_ID, kemId: KEMS.X25519_HKDF_SHA256.id, publicKey }, method: 'POST', url: '/data/x', body, aead, timestamp: NOW_S, ...TENANT });
}

/** The code `openRequest` fails with, or `undefined` when it opened. */
async function openCode(body: Uint8Array, timestamp: string | null = String(NOW_S), method = 'POST', path = '/data/x'): Promise<{ code?: ErrorCode; message?: string; plaintext?: Uint8Array }> {
  try {
    const opened = await openRequest(deps, { method, path, timestamp, body, format: '2', ...TENANT });
    return { plaintext: opened.plaintext };
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    expect(OPEN_CODES).toContain(err.code);
    // The caller's doing, never a server error: every code it may get is answered 4xx.
    expect(statusOf(err.code)).toBeGreaterThanOrEqual(400);
    expect(statusOf(err.code)).toBeLessThan(500);
    return { code: err.code, message: err.message };
  }
}

const validHeaderThen = (rest: fc.Arbitrary<Uint8Array>) =>
  fc.tuple(fc.constantFrom(AEADS.AES_256_GCM.id, AEADS.CHACHA20_POLY1305.id), rest).map(([aeadId, tail]) => new Uint8Array(Buffer.concat([encodeHeader({ keyId: KEY_ID, kemId: 0x20, kdfId: 1, aeadId }), tail])));

describe('hostile HPKE request bodies', () => {
  it('rejects any body bytes and timestamp with an HPKE code', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.uint8Array({ maxLength: 120 }), validHeaderThen(fc.uint8Array({ maxLength: 120 }))),
        fc.oneof(fc.constant(String(NOW_S)), fc.constant(null), fc.string({ maxLength: 14 }), fc.integer({ min: NOW_S - 1000, max: NOW_S + 1000 }).map(String)),
        async (body, ts) => {
          const { code } = await openCode(body, ts);
          expect(code).toBeDefined();
        },
      ),
      { numRuns: 800 },
    );
  });

  it('rejects random bytes behind a valid header with the one opaque HPKE_DECRYPT_FAILED', async () => {
    const messages = new Set<string>();
    await fc.assert(
      fc.asyncProperty(validHeaderThen(fc.uint8Array({ maxLength: 200 })), async (body) => {
        const { code, message } = await openCode(body);
        expect(code).toBe('HPKE_DECRYPT_FAILED');
        messages.add(message ?? '');
      }),
      { numRuns: 500 },
    );
    expect(messages.size).toBe(1);
  });

  it('opens any untampered request to its exact plaintext, once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.boolean(), async (plaintext, chacha) => {
        const req = await seal(plaintext, chacha ? AEADS.CHACHA20_POLY1305 : AEADS.AES_256_GCM);
        const opened = await openCode(req.body);
        expect(Buffer.from(opened.plaintext ?? []).equals(Buffer.from(plaintext))).toBe(true);
        expect((await openCode(req.body)).code).toBe('HPKE_REPLAY');
      }),
      { numRuns: 150 },
    );
  });

  it('refuses every bit flip, truncation and extension of a valid request', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(), fc.nat(7), fc.constantFrom('flip', 'truncate', 'extend'), async (plaintext, at, bit, how) => {
        const { body } = await seal(plaintext);
        const i = at % body.length;
        let hostile: Uint8Array;
        if (how === 'flip') {
          hostile = Uint8Array.from(body);
          hostile[i] = (hostile[i] ?? 0) ^ (1 << bit);
        } else if (how === 'truncate') {
          hostile = body.subarray(0, i);
        } else {
          hostile = new Uint8Array(Buffer.concat([body, Buffer.alloc(1 + (at % 17), bit)]));
        }
        const { code } = await openCode(hostile);
        // A flipped key id names an unknown key; a flipped suite id an unsupported suite; the
        // rest is one opaque code.
        if (how === 'flip' && i === 0) expect(code).toBe('HPKE_UNKNOWN_KEY');
        else if (how === 'flip' && i < HEADER_LENGTH) expect(['HPKE_UNSUPPORTED_SUITE', 'HPKE_DECRYPT_FAILED']).toContain(code);
        else if (how === 'truncate' && i === 0) expect(code).toBe('HPKE_DECRYPT_FAILED');
        else expect(code).toBe('HPKE_DECRYPT_FAILED');
      }),
      { numRuns: 400 },
    );
  });

  it('refuses a request moved to another method, path or time with HPKE_DECRYPT_FAILED', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<[string, string, number]>(['PUT', '/data/x', 0], ['POST', '/data/y', 0], ['POST', '/data/x/', 0], ['POST', '/DATA/x', 0], ['POST', '/data/x', 1], ['POST', '/data/x', -299]),
        async ([method, path, dt]) => {
          const { body } = await seal(Buffer.from('{}'));
          expect((await openCode(body, String(NOW_S + dt), method, path)).code).toBe('HPKE_DECRYPT_FAILED');
        },
      ),
      { numRuns: 30 },
    );
  });

  it.each([
    ['an empty body', new Uint8Array(0), 'HPKE_DECRYPT_FAILED'],
    ['a header only', encodeHeader({ keyId: KEY_ID, kemId: 0x20, kdfId: 1, aeadId: 2 }), 'HPKE_DECRYPT_FAILED'],
    ['header and enc without a tag', new Uint8Array(HEADER_LENGTH + 32 + 15).fill(0).map((b, i) => (i === 0 ? KEY_ID : i === 2 ? 0x20 : i === 4 ? 1 : i === 6 ? 2 : b)), 'HPKE_DECRYPT_FAILED'],
    ['an unknown key id', encodeHeader({ keyId: 8, kemId: 0x20, kdfId: 1, aeadId: 2 }), 'HPKE_UNKNOWN_KEY'],
    ['the export-only AEAD', encodeHeader({ keyId: KEY_ID, kemId: 0x20, kdfId: 1, aeadId: 0xffff }), 'HPKE_UNSUPPORTED_SUITE'],
    ['AES-128-GCM', encodeHeader({ keyId: KEY_ID, kemId: 0x20, kdfId: 1, aeadId: 1 }), 'HPKE_UNSUPPORTED_SUITE'],
    ['a P-256 suite for an X25519 key', encodeHeader({ keyId: KEY_ID, kemId: 0x10, kdfId: 1, aeadId: 2 }), 'HPKE_UNSUPPORTED_SUITE'],
    ['HKDF-SHA512', encodeHeader({ keyId: KEY_ID, kemId: 0x20, kdfId: 3, aeadId: 2 }), 'HPKE_UNSUPPORTED_SUITE'],
  ])('refuses %s', async (_label, body, code) => {
    expect((await openCode(body)).code).toBe(code);
  });

  it.each([['1e9'], ['+1893456000'], [' 1893456000'], ['1893456000.0'], ['0x70DBD880'], ['9'.repeat(13)], [''], ['-1']])('refuses the timestamp %j with HPKE_TIMESTAMP_SKEW', async (ts) => {
    const { body } = await seal(Buffer.from('{}'));
    expect((await openCode(body, ts)).code).toBe('HPKE_TIMESTAMP_SKEW');
  });

  it('splits and joins any body consistently', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.constantFrom(32, 65), (body, encLength) => {
        const m = splitMessage(body, encLength);
        if (m === undefined) {
          expect(body.length < HEADER_LENGTH + encLength + 16).toBe(true);
          return;
        }
        expect(Buffer.from(joinMessage(m.header, m.enc, m.ct)).equals(Buffer.from(body))).toBe(true);
        expect(decodeHeader(m.header)).toEqual(m.ids);
      }),
      { numRuns: 1000 },
    );
  });

  it('reads any Accept header without throwing', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.constant(null)), (accept) => {
        expect(typeof acceptsHpke(accept)).toBe('boolean');
      }),
      { numRuns: 1000 },
    );
  });

  it('reads any client key id as 0..255 or INVALID_REQUEST', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 6 }), fc.integer({ min: -5, max: 300 }).map(String), fc.constantFrom('007', '1e2', '0x1', ' 1', '1 ', '٣', '256')), (raw) => {
        try {
          const id = parseClientKeyId(raw);
          expect(Number.isInteger(id) && id >= 0 && id <= 255).toBe(true);
          expect(raw).toMatch(/^\d{1,3}$/);
        } catch (err) {
          expect((err as AppError).code).toBe('INVALID_REQUEST');
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('hostile HPKE client public keys', () => {
  const check = (kem: (typeof KEMS)[keyof typeof KEMS], key: Uint8Array): ErrorCode | undefined => {
    try {
      validateClientPublicKey(kem, key);
      return undefined;
    } catch (err) {
      expect(err).toBeInstanceOf(AppError);
      return (err as AppError).code;
    }
  };

  it('accepts or refuses any bytes with HPKE_INVALID_PUBLIC_KEY', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(KEMS.X25519_HKDF_SHA256, KEMS.P256_HKDF_SHA256),
        fc.oneof(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 64, maxLength: 64 }).map((b) => Uint8Array.of(4, ...b))),
        (kem, key) => {
          const code = check(kem, key);
          if (code !== undefined) expect(code).toBe('HPKE_INVALID_PUBLIC_KEY');
          else expect(key.length).toBe(kem.publicKeyLength);
        },
      ),
      { numRuns: 1000 },
    );
  });

  // RFC 7748 small-order points and their non-canonical twins (as listed by libsodium / Wycheproof).
  const smallOrder = [
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0100000000000000000000000000000000000000000000000000000000000000',
    'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
    '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'cdeb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880',
    '4c9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7',
    'd9ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    'daffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    'dbffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  ];
  it.each(smallOrder)('refuses the small-order or non-canonical X25519 key %s', (hex) => {
    expect(check(KEMS.X25519_HKDF_SHA256, Buffer.from(hex, 'hex'))).toBe('HPKE_INVALID_PUBLIC_KEY');
  });

  it.each([
    ['the point at infinity', Uint8Array.of(0)],
    ['a compressed point', Uint8Array.of(2, ...new Uint8Array(32).fill(1))],
    ['an uncompressed point off the curve', Uint8Array.of(4, ...new Uint8Array(64).fill(1))],
    ['coordinates of p', Uint8Array.of(4, ...Buffer.from('ffffffff00000001000000000000000000000000ffffffffffffffffffffffff'.repeat(2), 'hex'))],
    ['a hybrid point', Uint8Array.of(6, ...new Uint8Array(64).fill(1))],
  ])('refuses a P-256 key that is %s', (_label, key) => {
    expect(check(KEMS.P256_HKDF_SHA256, key)).toBe('HPKE_INVALID_PUBLIC_KEY');
  });
});
