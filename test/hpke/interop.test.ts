import * as PanvaHpke from 'hpke';
import { AEAD_AES_256_GCM, KDF_HKDF_SHA256, KEM_DHKEM_X25519_HKDF_SHA256 } from '@panva/hpke-noble';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { apiHeaders } from '../support/tokens.js';
import { AEADS_PANVA, requestAadBytes, responseAadBytes } from './hand-written-aad.js';

/**
 * A client written from the wire format alone, with the other library and none of our HPKE
 * code: it builds `hdr || enc || ct` itself, sends it to the running function app, and opens the
 * encrypted answer itself. (Our sealing against the other library, in process:
 * interop-libraries.test.ts.)
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
