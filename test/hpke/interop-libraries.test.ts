import * as PanvaHpke from 'hpke';
import { AEAD_AES_256_GCM, KDF_HKDF_SHA256, KEM_DHKEM_P256_HKDF_SHA256, KEM_DHKEM_X25519_HKDF_SHA256 } from '@panva/hpke-noble';
import { describe, expect, it } from 'vitest';
import { decryptResponse, encryptRequest, generateClientKeyPair } from '../../shared/hpke/client.js';
import { cipherSuite } from '../../shared/hpke/cipher-suite.js';
import { sealResponse } from '../../shared/hpke/seal-response.js';
import { AEADS, DEFAULT_SUITE, KDFS, KEMS } from '../../shared/hpke/suites.js';
import { encodeHeader, joinMessage, requestAad, requestInfo, splitMessage } from '../../shared/hpke/wire-format.js';
import { AEADS_PANVA, requestAadBytes, responseAadBytes } from './hand-written-aad.js';

// Our seal and open against a second library, in process; interop.test.ts sends its messages
// through the running app.

const TENANT = { org: 'INTEROP01@AdobeOrg', sandbox: 'prod' };

describe('interop with a second RFC 9180 implementation (hpke + @panva/hpke-noble)', () => {
  for (const aeadId of [2, 3] as const) {
    it(`the server opens a request sealed by the other library (AEAD ${aeadId})`, async () => {
      const server = cipherSuite(DEFAULT_SUITE);
      const pair = await server.kem.generateKeyPair();
      const pkR = new Uint8Array(await server.kem.serializePublicKey(pair.publicKey));
      const other = new PanvaHpke.CipherSuite(KEM_DHKEM_X25519_HKDF_SHA256, KDF_HKDF_SHA256, AEADS_PANVA[aeadId]);
      const header = encodeHeader({ keyId: 7, kemId: 0x20, kdfId: 1, aeadId });
      const aad = requestAad({ method: 'POST', path: '/data/foundation/catalog/dataSets', timestamp: '1700000000', ...TENANT, clientKeyId: 4 });
      expect(Buffer.from(aad).equals(Buffer.from(requestAadBytes('POST', '/data/foundation/catalog/dataSets', '1700000000', TENANT.org, TENANT.sandbox, 4)))).toBe(true);
      const { encapsulatedSecret, ciphertext } = await other.Seal(await other.DeserializePublicKey(pkR), Buffer.from('{"name":"x"}'), {
        info: requestInfo(header),
        aad,
      });
      const body = joinMessage(header, encapsulatedSecret, ciphertext);
      const parts = splitMessage(body, 32);
      expect(parts).toBeDefined();
      if (parts === undefined) return;
      const suite = { kem: KEMS.X25519_HKDF_SHA256, kdf: KDFS.HKDF_SHA256, aead: aeadId === 2 ? AEADS.AES_256_GCM : AEADS.CHACHA20_POLY1305 };
      const pt = await cipherSuite(suite).open({ recipientKey: pair, enc: parts.enc, info: requestInfo(parts.header) }, parts.ct, aad);
      expect(Buffer.from(pt).toString()).toBe('{"name":"x"}');
    });
  }

  it('the other library opens a request built by our client', async () => {
    const other = new PanvaHpke.CipherSuite(KEM_DHKEM_X25519_HKDF_SHA256, KDF_HKDF_SHA256, AEAD_AES_256_GCM);
    const kp = await other.GenerateKeyPair(true);
    const pk = await other.SerializePublicKey(kp.publicKey);
    const req = await encryptRequest({
      serverKey: { keyId: 3, kemId: 0x20, publicKey: Buffer.from(pk).toString('base64url') },
      method: 'post',
      url: 'https://api.example/data/foundation/catalog/dataSets?x=1',
      body: Buffer.from('{"a":1}'),
      timestamp: 1700000000,
      ...TENANT,
    });
    const parts = splitMessage(req.body, 32);
    if (parts === undefined) throw new Error('unsplittable');
    const pt = await other.Open(kp.privateKey, parts.enc, parts.ct, {
      info: requestInfo(parts.header),
      aad: requestAadBytes('POST', '/data/foundation/catalog/dataSets', '1700000000', TENANT.org, TENANT.sandbox, 0xffff),
    });
    expect(Buffer.from(pt).toString()).toBe('{"a":1}');
  });

  for (const kemId of [0x20, 0x10] as const) {
    it(`our response sealing opens with the other library and with our client (KEM ${kemId})`, async () => {
      const client = await generateClientKeyPair(9, kemId);
      const requestEnc = new Uint8Array(32).fill(5);
      const body = await sealResponse(
        { keyId: 9, kemId, publicKey: client.publicKey },
        KDFS.HKDF_SHA256,
        AEADS.AES_256_GCM,
        { method: 'GET', path: '/a/b', status: 200, requestEnc, ...TENANT },
        Buffer.from('{"ok":true}'),
      );
      const mine = await decryptResponse({ clientKey: client, method: 'GET', url: '/a/b', status: 200, body, requestEnc, ...TENANT });
      expect(Buffer.from(mine).toString()).toBe('{"ok":true}');
      const other = new PanvaHpke.CipherSuite(kemId === 0x20 ? KEM_DHKEM_X25519_HKDF_SHA256 : KEM_DHKEM_P256_HKDF_SHA256, KDF_HKDF_SHA256, AEAD_AES_256_GCM);
      const parts = splitMessage(body, kemId === 0x20 ? 32 : 65);
      if (parts === undefined) throw new Error('unsplittable');
      const sk = await other.DeserializePrivateKey(client.privateKey, false);
      const pt = await other.Open(sk, parts.enc, parts.ct, {
        info: new Uint8Array(Buffer.concat([Buffer.from('cipherflow response v2\0', 'ascii'), parts.header])),
        aad: responseAadBytes('GET', '/a/b', 200, TENANT.org, TENANT.sandbox, requestEnc),
      });
      expect(Buffer.from(pt).toString()).toBe('{"ok":true}');
      await expect(decryptResponse({ clientKey: client, method: 'GET', url: '/a/b', status: 201, body, requestEnc, ...TENANT })).rejects.toMatchObject({ code: 'HPKE_DECRYPT_FAILED' });
      await expect(decryptResponse({ clientKey: client, method: 'GET', url: '/a/b', status: 200, body, requestEnc, ...TENANT, org: 'OTHER0001@AdobeOrg' })).rejects.toMatchObject({ code: 'HPKE_DECRYPT_FAILED' });
    });
  }
});
