import { readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { validateClientPublicKey } from '../../shared/hpke/client-public-key.js';
import { KEMS } from '../../shared/hpke/suites.js';
import { NO_CLIENT_KEY_ID, decodeHeader, encodeHeader, requestAad, responseAad, requestInfo } from '../../shared/hpke/wire-format.js';

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
    expect(Buffer.from(requestInfo(hdr)).toString('hex')).toBe(Buffer.from('cipherflow request v2').toString('hex') + '00' + 'ab00200001' + '0002');
  });

  it('binds method, path, timestamp, org, sandbox and client key id (request), length-prefixed, as the README writes them', () => {
    const lv = (s: string) => Buffer.from(s).byteLength.toString(16).padStart(4, '0') + Buffer.from(s).toString('hex');
    const tenant = { org: 'ACME1234@AdobeOrg', sandbox: 'prod' };
    expect(Buffer.from(requestAad({ method: 'post', path: '/a/b', timestamp: '1700000000', ...tenant, clientKeyId: 1 })).toString('hex')).toBe(
      lv('POST') + lv('/a/b') + lv('1700000000') + lv('ACME1234@AdobeOrg') + lv('prod') + '0001',
    );
    expect(Buffer.from(requestAad({ method: 'GET', path: '/a', timestamp: '1', ...tenant, clientKeyId: NO_CLIENT_KEY_ID })).toString('hex').slice(-4)).toBe('ffff');
  });

  it('binds method, path, status, org, sandbox and the request enc (response)', () => {
    const lv = (s: string) => Buffer.from(s).byteLength.toString(16).padStart(4, '0') + Buffer.from(s).toString('hex');
    const tenant = { org: 'ACME1234@AdobeOrg', sandbox: 'dev' };
    expect(Buffer.from(responseAad({ method: 'GET', path: '/a', status: 200, ...tenant, requestEnc: Uint8Array.of(1, 2) })).toString('hex')).toBe(
      lv('GET') + lv('/a') + '00c8' + lv('ACME1234@AdobeOrg') + lv('dev') + '00020102',
    );
    expect(Buffer.from(responseAad({ method: 'GET', path: '/a', status: 404, ...tenant })).toString('hex').slice(-4)).toBe('0000');
  });
});
