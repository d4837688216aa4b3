import { HkdfSha256 } from '@hpke/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cipherSuite } from '../../shared/hpke/cipher-suite.js';
import { NodeHkdfSha256 } from '../../shared/hpke/lib/node-hkdf-sha256.js';
import { DEFAULT_SUITE } from '../../shared/hpke/suites.js';

const hex = (a: ArrayBuffer) => Buffer.from(a).toString('hex');
const SUITE_ID = new Uint8Array([72, 80, 75, 69, 0, 32, 0, 1, 0, 2]);
const label = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

/**
 * The node:crypto parts under `@hpke/core` against a reference we did not write: the library's
 * own WebCrypto HKDF. (RFC 9180's published vectors run in rfc9180-vectors.)
 */
describe('node:crypto HKDF-SHA256 backend', () => {
  const bytes = (max: number) => fc.uint8Array({ minLength: 0, maxLength: max });

  it('gives the bytes of the library WebCrypto HKDF for Extract, Expand and ExtractAndExpand', async () => {
    const ours = new NodeHkdfSha256();
    const reference = new HkdfSha256();
    // The library's extract takes an empty salt or one of the hash length.
    const salts = fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ minLength: 32, maxLength: 32 }));
    await fc.assert(
      fc.asyncProperty(salts, bytes(64), bytes(100), fc.integer({ min: 1, max: 64 }), async (salt, ikm, info, len) => {
        const prk = await ours.extract(salt, ikm);
        expect(hex(prk)).toBe(hex(await reference.extract(salt, ikm)));
        expect(hex(await ours.expand(prk, info, len))).toBe(hex(await reference.expand(prk, info, len)));
        expect(hex(await ours.extractAndExpand(salt, ikm, info, len))).toBe(hex(await reference.extractAndExpand(salt, ikm, info, len)));
      }),
      { numRuns: 300 },
    );
  });

  it('gives the bytes of the library WebCrypto HKDF for LabeledExtract and LabeledExpand, remembered or not', async () => {
    const ours = new NodeHkdfSha256();
    const reference = new HkdfSha256();
    ours.init(SUITE_ID);
    reference.init(SUITE_ID);
    const labels = fc.constantFrom('psk_id_hash', 'info_hash', 'secret', 'dkp_prk', 'other');
    // The library's extract takes an empty salt or one of the hash length.
    const salts = fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ minLength: 32, maxLength: 32 }));
    await fc.assert(
      fc.asyncProperty(labels, salts, bytes(80), fc.integer({ min: 1, max: 32 }), async (name, salt, ikm, len) => {
        const l = label(name);
        // Twice: the second answer may come from memory for the public labels.
        for (let i = 0; i < 2; i++) {
          const prk = await ours.labeledExtract(salt, l, ikm);
          expect(hex(prk)).toBe(hex(await reference.labeledExtract(salt, l, ikm)));
          expect(hex(await ours.labeledExpand(prk, l, ikm, len))).toBe(hex(await reference.labeledExpand(prk, l, ikm, len)));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('hands out a copy of a remembered hash, which the caller may change', async () => {
    const ours = new NodeHkdfSha256();
    ours.init(SUITE_ID);
    const info = new Uint8Array([1, 2, 3]);
    const first = await ours.labeledExtract(new Uint8Array(0), label('info_hash'), info);
    const expected = hex(first);
    new Uint8Array(first).fill(0);
    expect(hex(await ours.labeledExtract(new Uint8Array(0), label('info_hash'), info))).toBe(expected);
  });
});

describe('node:crypto X25519 backend', () => {
  const kem = cipherSuite(DEFAULT_SUITE).kem;

  it('serializes a generated private key to one that imports to the same key pair', async () => {
    for (let i = 0; i < 20; i++) {
      const pair = await kem.generateKeyPair();
      const sk = new Uint8Array(await kem.serializePrivateKey(pair.privateKey));
      expect(sk.byteLength).toBe(32);
      const imported = await kem.deserializePrivateKey(sk);
      const publicKey = await kem.serializePublicKey(pair.publicKey);
      // The KEM's Encap to the generated key, Decap with the imported one: the same shared secret.
      const encap = await kem.encap({ recipientPublicKey: pair.publicKey });
      const decap = await kem.decap({ enc: encap.enc, recipientKey: imported });
      expect(hex(decap)).toBe(hex(encap.sharedSecret));
      expect(hex(await kem.serializePublicKey(await kem.deserializePublicKey(publicKey)))).toBe(hex(publicKey));
    }
  });
});
