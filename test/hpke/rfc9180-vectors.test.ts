import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cipherSuite } from '../../shared/hpke/cipher-suite.js';
import { suiteOf } from '../../shared/hpke/suites.js';

const hex = z.string().regex(/^([0-9a-f]{2})*$/);
const Vectors = z.strictObject({
  source: z.string(),
  vectors: z.array(
    z.strictObject({
      section: z.string(),
      mode: z.literal(0),
      kemId: z.number(),
      kdfId: z.number(),
      aeadId: z.number(),
      info: hex,
      ikmE: hex.optional(),
      ikmR: hex.optional(),
      skRm: hex,
      pkRm: hex,
      skEm: hex,
      enc: hex,
      // Key schedule values: absent where the source (BoringSSL's translation) does not carry them.
      sharedSecret: hex.optional(),
      key: hex.optional(),
      baseNonce: hex.optional(),
      exporterSecret: hex.optional(),
      /** Consecutive sequence numbers from 0. */
      encryptions: z.array(z.strictObject({ aad: hex, pt: hex, ct: hex })).min(1),
      exports: z.array(z.strictObject({ context: hex, length: z.number(), value: hex })).optional(),
    }),
  ),
});

const file = Vectors.parse(JSON.parse(readFileSync(new URL('../vectors/rfc9180-base.json', import.meta.url), 'utf8')));
const b = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const h = (a: ArrayBuffer | Uint8Array) => Buffer.from(a instanceof Uint8Array ? a : new Uint8Array(a)).toString('hex');

describe('RFC 9180 test vectors through the server suite (node:crypto backend in @hpke/core)', () => {
  for (const v of file.vectors) {
    const suite = suiteOf(v);
    it(`${v.section}: opens the published ciphertexts in sequence with skRm`, async () => {
      expect(suite).toBeDefined();
      if (suite === undefined) return;
      const hs = cipherSuite(suite);
      const sk = await hs.kem.deserializePrivateKey(b(v.skRm));
      const pk = await hs.kem.deserializePublicKey(b(v.pkRm));
      expect(h(await hs.kem.serializePublicKey(await hs.kem.deserializePublicKey(b(v.pkRm))))).toBe(v.pkRm);
      const ctx = await hs.createRecipientContext({ recipientKey: { privateKey: sk, publicKey: pk }, enc: b(v.enc), info: b(v.info) });
      // One context, so each open uses the next nonce (RFC 9180 §5.2).
      for (const e of v.encryptions) expect(h(await ctx.open(b(e.ct), b(e.aad)))).toBe(e.pt);
      for (const e of v.exports ?? []) expect(h(await ctx.export(b(e.context), e.length))).toBe(e.value);
    });

    it(`${v.section}: reproduces enc, the shared secret and the ciphertext from the ephemeral key`, async () => {
      if (suite === undefined) return;
      const hs = cipherSuite(suite);
      const pkR = await hs.kem.deserializePublicKey(b(v.pkRm));
      const skE = await hs.kem.deserializePrivateKey(b(v.skEm));
      const ekm = v.ikmE === undefined ? { privateKey: skE, publicKey: await hs.kem.deserializePublicKey(b(v.enc)) } : await hs.kem.deriveKeyPair(b(v.ikmE));
      expect(h(await hs.kem.serializePrivateKey(ekm.privateKey))).toBe(v.skEm);
      const encap = await hs.kem.encap({ recipientPublicKey: pkR, ekm });
      expect(h(encap.enc)).toBe(v.enc);
      if (v.sharedSecret !== undefined) expect(h(encap.sharedSecret)).toBe(v.sharedSecret);
      const sender = await hs.createSenderContext({ recipientPublicKey: pkR, info: b(v.info), ekm });
      expect(h(sender.enc)).toBe(v.enc);
      for (const e of v.encryptions) expect(h(await sender.seal(b(e.pt), b(e.aad)))).toBe(e.ct);
    });

    if (v.ikmR !== undefined) {
      const ikmR = v.ikmR;
      it(`${v.section}: DeriveKeyPair(ikmR) gives skRm and pkRm`, async () => {
        if (suite === undefined) return;
        const kp = await cipherSuite(suite).kem.deriveKeyPair(b(ikmR));
        expect(h(await cipherSuite(suite).kem.serializePrivateKey(kp.privateKey))).toBe(v.skRm);
        expect(h(await cipherSuite(suite).kem.serializePublicKey(kp.publicKey))).toBe(v.pkRm);
      });
    }

    it(`${v.section}: must reject a tampered ciphertext, enc and aad`, async () => {
      if (suite === undefined) return;
      const hs = cipherSuite(suite);
      const recipientKey = { privateKey: await hs.kem.deserializePrivateKey(b(v.skRm)), publicKey: await hs.kem.deserializePublicKey(b(v.pkRm)) };
      const [first] = v.encryptions;
      if (first === undefined) return;
      const flip = (x: Uint8Array, i = 0) => {
        const c = Uint8Array.from(x);
        c[i] = (c[i] ?? 0) ^ 1;
        return c;
      };
      await expect(hs.open({ recipientKey, enc: b(v.enc), info: b(v.info) }, flip(b(first.ct)), b(first.aad))).rejects.toThrow();
      await expect(hs.open({ recipientKey, enc: flip(b(v.enc), 5), info: b(v.info) }, b(first.ct), b(first.aad))).rejects.toThrow();
      await expect(hs.open({ recipientKey, enc: b(v.enc), info: b(v.info) }, b(first.ct), flip(b(first.aad)))).rejects.toThrow();
    });
  }
});
