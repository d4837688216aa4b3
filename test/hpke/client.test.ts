import { describe, expect, it } from 'vitest';
import { cipherSuite } from '../../shared/hpke/cipher-suite.js';
import { createHpkeFetch, generateClientKeyPair, type ClientKeyPair } from '../../shared/hpke/client.js';
import { sealResponse } from '../../shared/hpke/seal-response.js';
import { DEFAULT_SUITE, KDFS } from '../../shared/hpke/suites.js';
import { sealStream } from '../../shared/hpke/seal-stream.js';
import { HPKE_CHUNKED_MEDIA_TYPE, HPKE_MEDIA_TYPE, NO_CLIENT_KEY_ID, requestAad, requestInfo, splitMessage } from '../../shared/hpke/wire-format.js';

const ENDPOINT = 'https://cipherflow.example/data/foundation/catalog/dataSets';

/**
 * A server for the fetch wrapper, in memory: it opens the encrypted request with its own key and
 * answers with `answer`, which decides whether the response is sealed (as cipherflow does) or sent
 * in plaintext (a downgrade by something on the path).
 */
async function fakeServer(answer: (ctx: { clientKey: ClientKeyPair; requestEnc?: Uint8Array; json: unknown }) => Promise<Response>, clientKey: ClientKeyPair) {
  const suite = cipherSuite(DEFAULT_SUITE);
  const pair = await suite.kem.generateKeyPair();
  const publicKey = Buffer.from(await suite.kem.serializePublicKey(pair.publicKey)).toString('base64url');
  const seen: { headers: Headers; method: string }[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    const method = init?.method ?? 'GET';
    seen.push({ headers, method });
    if (init?.body === undefined || init.body === null) return answer({ clientKey, json: undefined });
    if (!(init.body instanceof Uint8Array)) throw new Error('the wrapper sent a body that is not bytes');
    const parts = splitMessage(init.body, 32);
    if (parts === undefined) throw new Error('the wrapper sent an unsplittable body');
    const path = new URL(input instanceof Request ? input.url : input).pathname;
    const org = headers.get('x-gw-ims-org-id') ?? '';
    const pt = await suite.open(
      { recipientKey: pair, enc: parts.enc, info: requestInfo(parts.header) },
      parts.ct,
      requestAad({
        method,
        path,
        timestamp: headers.get('x-hpke-timestamp') ?? '',
        org,
        sandbox: org === '' ? '' : (headers.get('x-sandbox-name') ?? 'prod'),
        clientKeyId: Number(headers.get('x-hpke-client-key-id') ?? NO_CLIENT_KEY_ID),
      }),
    );
    return answer({ clientKey, requestEnc: parts.enc, json: JSON.parse(Buffer.from(pt).toString('utf8')) });
  };
  return { fetchImpl, seen, serverKey: { keyId: 4, kemId: DEFAULT_SUITE.kem.id, publicKey } };
}

async function sealed(clientKey: ClientKeyPair, status: number, json: unknown, requestEnc?: Uint8Array): Promise<Response> {
  const body = await sealResponse(
    clientKey,
    KDFS.HKDF_SHA256,
    DEFAULT_SUITE.aead,
    { method: 'POST', path: new URL(ENDPOINT).pathname, status, org: '', sandbox: '', ...(requestEnc === undefined ? {} : { requestEnc }) },
    Buffer.from(JSON.stringify(json)),
  );
  return new Response(body, { status, headers: { 'content-type': HPKE_MEDIA_TYPE } });
}

describe('createHpkeFetch', () => {
  it('encrypts the body, asks for an encrypted answer and decrypts it', async () => {
    const clientKey = await generateClientKeyPair(9);
    const server = await fakeServer(async ({ requestEnc, json }) => sealed(clientKey, 201, { echo: json }, requestEnc), clientKey);
    const hpkeFetch = createHpkeFetch({ serverKey: () => Promise.resolve(server.serverKey), clientKey, fetch: server.fetchImpl });
    const res = await hpkeFetch(ENDPOINT, { method: 'POST', headers: { authorization: 'Bearer t' }, body: JSON.stringify({ name: 'x' }) });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ echo: { name: 'x' } });
    const [sent] = server.seen;
    expect(sent?.headers.get('accept')).toBe(`${HPKE_MEDIA_TYPE}, ${HPKE_CHUNKED_MEDIA_TYPE}`);
    expect(sent?.headers.get('x-hpke-format')).toBe('2');
    expect(sent?.headers.get('content-type')).toBe(HPKE_MEDIA_TYPE);
    expect(sent?.headers.get('x-hpke-client-key-id')).toBe('9');
    expect(sent?.headers.get('authorization')).toBe('Bearer t');
  });

  it('refuses a plaintext 2xx to a request that asked for an encrypted answer with HPKE_PLAINTEXT_RESPONSE', async () => {
    const clientKey = await generateClientKeyPair(9);
    const downgrade = () => Promise.resolve(new Response('{"id":"x"}', { status: 200, headers: { 'content-type': 'application/json' } }));
    const server = await fakeServer(downgrade, clientKey);
    const hpkeFetch = createHpkeFetch({ serverKey: () => Promise.resolve(server.serverKey), clientKey, fetch: server.fetchImpl });
    await expect(hpkeFetch(ENDPOINT, { method: 'POST', body: '{"name":"x"}' })).rejects.toMatchObject({ name: 'HpkeClientError', code: 'HPKE_PLAINTEXT_RESPONSE' });
    await expect(hpkeFetch(ENDPOINT)).rejects.toMatchObject({ code: 'HPKE_PLAINTEXT_RESPONSE' });
  });

  it('hands back a plaintext problem (the org is not known yet) and an empty 204 as they came', async () => {
    const clientKey = await generateClientKeyPair(9);
    const problem = () => Promise.resolve(new Response('{"code":"UNAUTHENTICATED"}', { status: 401, headers: { 'content-type': 'application/problem+json' } }));
    const unauthenticated = await fakeServer(problem, clientKey);
    const res = await createHpkeFetch({ serverKey: () => Promise.resolve(unauthenticated.serverKey), clientKey, fetch: unauthenticated.fetchImpl })(ENDPOINT);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ code: 'UNAUTHENTICATED' });
    const empty = await fakeServer(() => Promise.resolve(new Response(null, { status: 204 })), clientKey);
    const deleted = await createHpkeFetch({ serverKey: () => Promise.resolve(empty.serverKey), clientKey, fetch: empty.fetchImpl })(ENDPOINT, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
  });

  it('refuses an encrypted answer not bound to its request (another request enc) with HPKE_DECRYPT_FAILED', async () => {
    const clientKey = await generateClientKeyPair(9);
    const server = await fakeServer(async () => sealed(clientKey, 201, { id: 'x' }, new Uint8Array(32).fill(1)), clientKey);
    const hpkeFetch = createHpkeFetch({ serverKey: () => Promise.resolve(server.serverKey), clientKey, fetch: server.fetchImpl });
    await expect(hpkeFetch(ENDPOINT, { method: 'POST', body: '{"name":"x"}' })).rejects.toMatchObject({ code: 'HPKE_DECRYPT_FAILED' });
  });

  it('binds the org and sandbox of its headers: an answer sealed for another sandbox fails with HPKE_DECRYPT_FAILED', async () => {
    const clientKey = await generateClientKeyPair(9);
    const headers = { 'x-gw-ims-org-id': 'ACME1234@AdobeOrg', 'x-sandbox-name': 'dev' };
    const answer = (sandbox: string) => async () =>
      new Response(await sealResponse(clientKey, KDFS.HKDF_SHA256, DEFAULT_SUITE.aead, { method: 'GET', path: new URL(ENDPOINT).pathname, status: 200, org: 'ACME1234@AdobeOrg', sandbox }, Buffer.from('{}')), {
        status: 200,
        headers: { 'content-type': HPKE_MEDIA_TYPE },
      });
    const good = await fakeServer(answer('dev'), clientKey);
    expect((await createHpkeFetch({ serverKey: () => Promise.resolve(good.serverKey), clientKey, fetch: good.fetchImpl })(ENDPOINT, { headers })).status).toBe(200);
    const moved = await fakeServer(answer('prod'), clientKey);
    await expect(createHpkeFetch({ serverKey: () => Promise.resolve(moved.serverKey), clientKey, fetch: moved.fetchImpl })(ENDPOINT, { headers })).rejects.toMatchObject({ code: 'HPKE_DECRYPT_FAILED' });
  });

  it('opens a streamed answer as a body stream, and errors the stream with HPKE_STREAM_TRUNCATED when it is cut', async () => {
    const clientKey = await generateClientKeyPair(9);
    const plain = Buffer.alloc(200_000, 7);
    const sealedStream = async (): Promise<Buffer> => {
      const parts: Buffer[] = [];
      const binding = { method: 'GET', path: new URL(ENDPOINT).pathname, status: 200, org: '', sandbox: '' };
      for await (const p of sealStream(clientKey, KDFS.HKDF_SHA256, DEFAULT_SUITE.aead, binding, [plain])) parts.push(p as Buffer);
      return Buffer.concat(parts);
    };
    const whole = await sealedStream();
    const server = await fakeServer(() => Promise.resolve(new Response(whole, { status: 200, headers: { 'content-type': HPKE_CHUNKED_MEDIA_TYPE } })), clientKey);
    const res = await createHpkeFetch({ serverKey: () => Promise.resolve(server.serverKey), clientKey, fetch: server.fetchImpl })(ENDPOINT);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await res.arrayBuffer()).equals(plain)).toBe(true);
    const cut = await fakeServer(() => Promise.resolve(new Response(whole.subarray(0, whole.byteLength - 5000), { status: 200, headers: { 'content-type': HPKE_CHUNKED_MEDIA_TYPE } })), clientKey);
    const truncated = await createHpkeFetch({ serverKey: () => Promise.resolve(cut.serverKey), clientKey, fetch: cut.fetchImpl })(ENDPOINT);
    expect(truncated.status).toBe(200);
    const reader = truncated.body?.getReader();
    let failure: unknown;
    try {
      for (;;) if ((await reader?.read())?.done !== false) break;
    } catch (err) {
      failure = err;
    }
    expect(failure).toMatchObject({ name: 'HpkeClientError', code: 'HPKE_STREAM_TRUNCATED' });
  });
});
