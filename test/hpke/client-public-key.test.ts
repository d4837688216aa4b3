import { readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { validateClientPublicKey } from '../../shared/hpke/client-public-key.js';
import { KEMS } from '../../shared/hpke/suites.js';
import { decodeHeader, encodeHeader, requestAad, responseAad, requestInfo } from '../../shared/hpke/wire-format.js';

const MustReject = z.strictObject({ source: z.string(), keys: z.array(z.strictObject({ reason: z.string(), hex: z.string() })) });
const vectors = MustReject.parse(JSON.parse(readFileSync(new URL('../vectors/x25519-must-reject.json', import.meta.url), 'utf8')));

describe('client public key validation', () => {
  for (const v of vectors.keys) {
    it(`refuses ${v.reason} with HPKE_INVALID_PUBLIC_KEY`, () => {
      expect(() => validateClientPublicKey(KEMS.X25519_HKDF_SHA256, new Uint8Array(Buffer.from(v.hex, 'hex')))).toThrow(
        expect.objectContaining({ code: 'HPKE_INVALID_PUBLIC_KEY' }),
      );
    });
  }

  it('accepts a fresh X25519 key and an uncompressed P-256 point', () => {
    const x = generateKeyPairSync('x25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
    expect(() => validateClientPublicKey(KEMS.X25519_HKDF_SHA256, new Uint8Array(x))).not.toThrow();
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    const p = Buffer.concat([Buffer.of(4), Buffer.from(jwk.x ?? '', 'base64url'), Buffer.from(jwk.y ?? '', 'base64url')]);
    expect(() => validateClientPublicKey(KEMS.P256_HKDF_SHA256, new Uint8Array(p))).not.toThrow();
  });

  it('refuses a compressed or off-curve P-256 point', () => {
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    const x = Buffer.from(jwk.x ?? '', 'base64url');
    const y = Buffer.from(jwk.y ?? '', 'base64url');
    const offCurve = Buffer.concat([Buffer.of(4), x, y]);
    offCurve[64] = (offCurve[64] ?? 0) ^ 1;
    expect(() => validateClientPublicKey(KEMS.P256_HKDF_SHA256, new Uint8Array(offCurve))).toThrow(expect.objectContaining({ code: 'HPKE_INVALID_PUBLIC_KEY' }));
    const compressed = Buffer.concat([Buffer.of(2), x, Buffer.alloc(32)]);
    expect(() => validateClientPublicKey(KEMS.P256_HKDF_SHA256, new Uint8Array(compressed))).toThrow(expect.objectContaining({ code: 'HPKE_INVALID_PUBLIC_KEY' }));
  });
});

describe('wire format', () => {
  it('writes hdr big-endian as RFC 9458 §4.1 does and reads it back', () => {
    const hdr = encodeHeader({ keyId: 0xab, kemId: 0x20, kdfId: 1, aeadId: 2 });
    expect(Buffer.from(hdr).toString('hex')).toBe('ab0020000100' + '02');
    expect(decodeHeader(hdr)).toEqual({ keyId: 0xab, kemId: 0x20, kdfId: 1, aeadId: 2 });
    expect(Buffer.from(requestInfo(hdr)).toString('hex')).toBe(Buffer.from('cipherflow request').toString('hex') + '00' + 'ab00200001' + '0002');
  });

  it('binds method, path and timestamp (request) and status plus the request enc (response)', () => {
    expect(Buffer.from(requestAad('post', '/a/b', '1700000000')).toString()).toBe('POST /a/b 1700000000');
    expect(Buffer.from(responseAad('GET', '/a', 200, Uint8Array.of(1, 2))).toString('hex')).toBe(Buffer.from('GET /a 200').toString('hex') + '0102');
  });
});
