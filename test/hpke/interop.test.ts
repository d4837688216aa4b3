import * as PanvaHpke from 'hpke';
import { AEAD_AES_256_GCM, AEAD_ChaCha20Poly1305, KDF_HKDF_SHA256, KEM_DHKEM_P256_HKDF_SHA256, KEM_DHKEM_X25519_HKDF_SHA256 } from '@panva/hpke-noble';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptResponse, encryptRequest, generateClientKeyPair } from '../../shared/hpke/client.js';
import { cipherSuite } from '../../shared/hpke/cipher-suite.js';
import { sealResponse } from '../../shared/hpke/seal-response.js';
import { AEADS, DEFAULT_SUITE, KDFS, KEMS } from '../../shared/hpke/suites.js';
import { encodeHeader, joinMessage, requestAad, requestInfo, splitMessage } from '../../shared/hpke/wire-format.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { apiHeaders } from '../support/tokens.js';

// The second implementation: panva's `hpke` with noble primitives (pure JS), not @hpke/core.
const AEADS_PANVA = { 2: AEAD_AES_256_GCM, 3: AEAD_ChaCha20Poly1305 } as const;
const TENANT = { org: 'INTEROP01@AdobeOrg', sandbox: 'prod' };

/** `len (2 bytes, big-endian) || bytes`, the README's `lv`, written here without our code. */
function lv(value: string | Uint8Array): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(bytes.byteLength);
  return Buffer.concat([len, bytes]);
}
function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
/** Request aad, format 2: lv(METHOD) || lv(path) || lv(timestamp) || lv(org) || lv(sandbox) || clientKeyId (2). */
const requestAadBytes = (method: string, path: string, timestamp: string, org: string, sandbox: string, clientKeyId: number) =>
  new Uint8Array(Buffer.concat([lv(method), lv(path), lv(timestamp), lv(org), lv(sandbox), u16(clientKeyId)]));
/** Response aad, format 2: lv(METHOD) || lv(path) || status (2) || lv(org) || lv(sandbox) || lv(request enc). */
const responseAadBytes = (method: string, path: string, status: number, org: string, sandbox: string, requestEnc?: Uint8Array) =>
  new Uint8Array(Buffer.concat([lv(method), lv(path), u16(status), lv(org), lv(sandbox), lv(requestEnc ?? new Uint8Array(0))]));

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

/**
 * A client written from the wire format alone, with the other library and none of our HPKE
 * code: it builds `hdr || enc || ct` itself, sends it to the running function app, and opens the
 * encrypted answer itself.
 */
describe('interop through the local runtime: a client built on hpke + @panva/hpke-noble only', () => {
  const ORG = 'CF0906HPKE@AdobeOrg';
  const CLIENT_KEY_ID = 42;
  const HPKE = 'application/octet-stream+hpke';
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let server: { keyId: number; kemId: number; publicKey: string };
  let clientPair: PanvaHpke.KeyPair;

  /** keyId (1) || kemId (2) || kdfId (2) || aeadId (2), big-endian. */
  const header = (keyId: number, kemId: number, kdfId: number, aeadId: number): Uint8Array => {
    const hdr = Buffer.alloc(7);
    hdr.writeUInt8(keyId, 0);
    hdr.writeUInt16BE(kemId, 1);
    hdr.writeUInt16BE(kdfId, 3);
    hdr.writeUInt16BE(aeadId, 5);
    return new Uint8Array(hdr);
  };
  const label = (text: string, hdr: Uint8Array) => new Uint8Array(Buffer.concat([Buffer.from(text, 'ascii'), Buffer.of(0), hdr]));

  beforeAll(async () => {
    stack = await startLocalStack();
    runtime = await startRuntime(stack.env);
    const { keys } = (await (await fetch(`${runtime.url}/api-encryption/keys`)).json()) as { keys: { keyId: number; kemId: number; publicKey: string; status: string }[] };
    const active = keys.find((k) => k.status === 'active');
    if (active === undefined) throw new Error(`no active server key: ${JSON.stringify(keys)}`);
    server = active;
    const other = new PanvaHpke.CipherSuite(KEM_DHKEM_X25519_HKDF_SHA256, KDF_HKDF_SHA256, AEAD_AES_256_GCM);
    clientPair = await other.GenerateKeyPair(true);
    const put = await fetch(`${runtime.url}/api-encryption/client-keys/${CLIENT_KEY_ID}`, {
      method: 'PUT',
      headers: await apiHeaders(ORG, undefined, { 'content-type': 'application/json' }),
      body: JSON.stringify({ kemId: 0x20, publicKey: Buffer.from(await other.SerializePublicKey(clientPair.publicKey)).toString('base64url') }),
    });
    expect(put.status).toBe(201);
  });
  afterAll(async () => {
    await runtime?.stop();
    await stack?.stop();
  });

  /** Opens an encrypted answer to our client key: `hdr || enc || ct`, the format 2 response aad. */
  async function openAnswer(res: Response, method: string, path: string, requestEnc: Uint8Array | undefined, aeadId: 2 | 3): Promise<unknown> {
    expect(res.headers.get('content-type')).toBe(HPKE);
    const body = new Uint8Array(await res.arrayBuffer());
    const hdr = body.subarray(0, 7);
    expect(Buffer.from(hdr)).toEqual(Buffer.from(header(CLIENT_KEY_ID, 0x20, 1, aeadId)));
    const other = new PanvaHpke.CipherSuite(KEM_DHKEM_X25519_HKDF_SHA256, KDF_HKDF_SHA256, AEADS_PANVA[aeadId]);
    const aad = responseAadBytes(method, path, res.status, ORG, 'prod', requestEnc);
    const pt = await other.Open(clientPair, body.subarray(7, 39), body.subarray(39), { info: label('cipherflow response v2', hdr), aad });
    return JSON.parse(Buffer.from(pt).toString('utf8'));
  }

  for (const aeadId of [2, 3] as const) {
    it(`creates a dataset from a request sealed by the other library and reads the encrypted answer (AEAD ${aeadId})`, async () => {
      const path = '/data/foundation/catalog/dataSets';
      const other = new PanvaHpke.CipherSuite(KEM_DHKEM_X25519_HKDF_SHA256, KDF_HKDF_SHA256, AEADS_PANVA[aeadId]);
      expect(server.kemId).toBe(0x20);
      const hdr = header(server.keyId, 0x20, 1, aeadId);
      const timestamp = String(Math.floor(Date.now() / 1000));
      const { encapsulatedSecret, ciphertext } = await other.Seal(
        await other.DeserializePublicKey(new Uint8Array(Buffer.from(server.publicKey, 'base64url'))),
        new Uint8Array(Buffer.from(JSON.stringify({ name: `interop-${aeadId}` }))),
        { info: label('cipherflow request v2', hdr), aad: requestAadBytes('POST', path, timestamp, ORG, 'prod', CLIENT_KEY_ID) },
      );
      const res = await fetch(`${runtime.url}${path}`, {
        method: 'POST',
        headers: await apiHeaders(ORG, undefined, {
          'content-type': HPKE,
          'x-hpke-timestamp': timestamp,
          accept: HPKE,
          'x-hpke-client-key-id': String(CLIENT_KEY_ID),
          'x-hpke-format': '2',
        }),
        body: Buffer.concat([hdr, encapsulatedSecret, ciphertext]),
      });
      expect(res.status).toBe(201);
      const [ref] = (await openAnswer(res, 'POST', path, encapsulatedSecret, aeadId)) as string[];
      expect(ref).toMatch(/^@\/dataSets\/[0-9a-f]{24}$/);

      // A bodiless request with an encrypted answer (the default AEAD, no request enc in the aad).
      const id = ref?.split('/')[2] ?? '';
      const read = await fetch(`${runtime.url}${path}/${id}`, { headers: await apiHeaders(ORG, undefined, { accept: HPKE, 'x-hpke-format': '2' }) });
      expect(read.status).toBe(200);
      expect(await openAnswer(read, 'GET', `${path}/${id}`, undefined, 2)).toMatchObject({ [id]: { name: `interop-${aeadId}` } });
    });
  }
});
