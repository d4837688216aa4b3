import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHpkeFetch, encryptRequest, generateClientKeyPair, type ClientKeyPair, type ServerKeyInfo } from '../../shared/hpke/client.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { apiHeaders } from '../support/tokens.js';

const ORG = 'CF0901HPKE@AdobeOrg';
const ORG_STRICT = 'CF0902HPKE@AdobeOrg';
const ORG_NOKEY = 'CF0903HPKE@AdobeOrg';
const DATASETS = '/data/foundation/catalog/dataSets';

describe('API payload encryption (HPKE) through the local runtime', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let serverKey: ServerKeyInfo;
  let clientKey: ClientKeyPair;

  beforeAll(async () => {
    stack = await startLocalStack();
    runtime = await startRuntime(stack.env);
    const res = await fetch(`${runtime.url}/api-encryption/keys`);
    expect(res.status).toBe(200);
    const { keys } = (await res.json()) as { keys: ServerKeyInfo[] };
    const active = keys.find((k) => k.status === 'active');
    if (active === undefined) throw new Error(`no active key: ${JSON.stringify(keys)}`);
    serverKey = active;
    clientKey = await generateClientKeyPair(1);
    const put = await fetch(`${runtime.url}/api-encryption/client-keys/1`, {
      method: 'PUT',
      headers: await apiHeaders(ORG, undefined, { 'content-type': 'application/json' }),
      body: JSON.stringify({ kemId: 32, publicKey: Buffer.from(clientKey.publicKey).toString('base64url') }),
    });
    expect(put.status).toBe(201);
  });
  afterAll(async () => {
    await runtime.stop();
    await stack.stop();
  });

  async function encrypted(method: string, path: string, json: unknown, extra: Record<string, string> = {}, timestamp?: number) {
    const req = await encryptRequest({
      serverKey,
      method,
      url: `${runtime.url}${path}`,
      body: Buffer.from(JSON.stringify(json)),
      org: ORG,
      sandbox: 'prod',
      ...(timestamp === undefined ? {} : { timestamp }),
    });
    return { req, headers: await apiHeaders(ORG, undefined, { ...req.headers, ...extra }) };
  }

  async function code(res: Response): Promise<string> {
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    return ((await res.json()) as { code: string }).code;
  }

  it('lists the keys as JSON and as RFC 9458 key configurations', async () => {
    expect(serverKey).toMatchObject({ kemId: 32, kdfIds: [1], aeadIds: [2, 3], status: 'active' });
    expect(Buffer.from(serverKey.publicKey, 'base64url')).toHaveLength(32);
    const res = await fetch(`${runtime.url}/api-encryption/keys`, { headers: { accept: 'application/ohttp-keys' } });
    expect(res.headers.get('content-type')).toBe('application/ohttp-keys');
    const bytes = Buffer.from(await res.arrayBuffer());
    const length = bytes.readUInt16BE(0);
    expect(length).toBe(1 + 2 + 32 + 2 + 8);
    expect(bytes.readUInt8(2)).toBe(serverKey.keyId);
    expect(bytes.readUInt16BE(3)).toBe(0x20);
    expect(bytes.subarray(5, 37).toString('base64url')).toBe(serverKey.publicKey);
  });

  it('round-trips an encrypted request and an encrypted response (create, then read a dataset)', async () => {
    const hpkeFetch = createHpkeFetch({ serverKey: () => Promise.resolve(serverKey), clientKey });
    const headers = await apiHeaders(ORG);
    const created = await hpkeFetch(`${runtime.url}${DATASETS}`, { method: 'POST', headers, body: JSON.stringify({ name: 'sealed' }) });
    expect(created.status).toBe(201);
    const [ref] = (await created.json()) as string[];
    const id = ref?.split('/')[2] ?? '';
    const read = await hpkeFetch(`${runtime.url}${DATASETS}/${id}`, { headers });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ [id]: { name: 'sealed' } });
    // The same endpoints in plaintext still work.
    const plain = await fetch(`${runtime.url}${DATASETS}/${id}`, { headers });
    expect(plain.headers.get('content-type')).toBe('application/json');
  });

  it('encrypts problem responses too, once the org is known', async () => {
    const hpkeFetch = createHpkeFetch({ serverKey: () => Promise.resolve(serverKey), clientKey });
    const res = await hpkeFetch(`${runtime.url}${DATASETS}/000000000000000000000000`, { headers: await apiHeaders(ORG) });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: string }).code).toBe('NOT_FOUND');
  });

  it('accepts ChaCha20Poly1305 when the sender picks it', async () => {
    const req = await encryptRequest({ serverKey, method: 'POST', url: `${runtime.url}${DATASETS}`, body: Buffer.from('{"name":"chacha"}'), aead: { id: 0x0003, name: 'ChaCha20Poly1305', tagLength: 16 }, org: ORG, sandbox: 'prod' });
    const res = await fetch(`${runtime.url}${DATASETS}`, { method: 'POST', headers: await apiHeaders(ORG, undefined, req.headers), body: req.body });
    expect(res.status).toBe(201);
  });

  it('refuses a replayed request with HPKE_REPLAY', async () => {
    const { req, headers } = await encrypted('POST', DATASETS, { name: 'once' });
    expect((await fetch(`${runtime.url}${DATASETS}`, { method: 'POST', headers, body: req.body })).status).toBe(201);
    const again = await fetch(`${runtime.url}${DATASETS}`, { method: 'POST', headers: await apiHeaders(ORG, undefined, req.headers), body: req.body });
    expect(again.status).toBe(400);
    expect(await code(again)).toBe('HPKE_REPLAY');
  });

  it('refuses a request moved to another path with HPKE_DECRYPT_FAILED', async () => {
    const { req, headers } = await encrypted('PUT', '/api-encryption/settings', { requireEncryption: false });
    const moved = await fetch(`${runtime.url}/api-encryption/client-keys/2`, { method: 'PUT', headers, body: req.body });
    expect(await code(moved)).toBe('HPKE_DECRYPT_FAILED');
  });

  it('refuses a skewed timestamp with HPKE_TIMESTAMP_SKEW', async () => {
    const { req, headers } = await encrypted('POST', DATASETS, { name: 'late' }, {}, Math.floor(Date.now() / 1000) - 301);
    expect(await code(await fetch(`${runtime.url}${DATASETS}`, { method: 'POST', headers, body: req.body }))).toBe('HPKE_TIMESTAMP_SKEW');
  });

  it('refuses a tampered ciphertext with HPKE_DECRYPT_FAILED and no detail', async () => {
    const { req, headers } = await encrypted('POST', DATASETS, { name: 'tampered' });
    const body = Uint8Array.from(req.body);
    body[body.length - 1] = (body[body.length - 1] ?? 0) ^ 1;
    const res = await fetch(`${runtime.url}${DATASETS}`, { method: 'POST', headers, body });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { code: string; detail: string };
    expect(problem).toMatchObject({ code: 'HPKE_DECRYPT_FAILED', detail: 'The request body could not be decrypted' });
  });

  it('refuses an unknown key id with 422 HPKE_UNKNOWN_KEY listing the current ids', async () => {
    const req = await encryptRequest({ serverKey: { ...serverKey, keyId: (serverKey.keyId + 17) % 256 }, method: 'POST', url: `${runtime.url}${DATASETS}`, body: Buffer.from('{}'), org: ORG, sandbox: 'prod' });
    const res = await fetch(`${runtime.url}${DATASETS}`, { method: 'POST', headers: await apiHeaders(ORG, undefined, req.headers), body: req.body });
    expect(res.status).toBe(422);
    const problem = (await res.json()) as { code: string; detail: string };
    expect(problem.code).toBe('HPKE_UNKNOWN_KEY');
    expect(problem.detail).toContain(String(serverKey.keyId));
  });

  it('refuses a low-order client key with HPKE_INVALID_PUBLIC_KEY', async () => {
    const res = await fetch(`${runtime.url}/api-encryption/client-keys/3`, {
      method: 'PUT',
      headers: await apiHeaders(ORG, undefined, { 'content-type': 'application/json' }),
      body: JSON.stringify({ kemId: 32, publicKey: Buffer.from('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', 'hex').toString('base64url') }),
    });
    expect(res.status).toBe(400);
    expect(await code(res)).toBe('HPKE_INVALID_PUBLIC_KEY');
  });

  it('answers 406 HPKE_NO_CLIENT_KEY (plaintext) when an org without a client key asks for an encrypted response', async () => {
    const res = await fetch(`${runtime.url}${DATASETS}/000000000000000000000000`, { headers: await apiHeaders(ORG_NOKEY, undefined, { accept: 'application/octet-stream+hpke', 'x-hpke-format': '2' }) });
    expect(res.status).toBe(406);
    expect(await code(res)).toBe('HPKE_NO_CLIENT_KEY');
  });

  it('answers in plaintext while the org is unknown: 401 without a token, 403 for an org the token does not grant', async () => {
    const asksForHpke = { accept: 'application/octet-stream+hpke', 'x-hpke-client-key-id': '1' };
    const req = await encryptRequest({ serverKey, method: 'POST', url: `${runtime.url}${DATASETS}`, body: Buffer.from('{"name":"anonymous"}'), org: '', sandbox: '' });
    const anonymous = await fetch(`${runtime.url}${DATASETS}`, { method: 'POST', headers: { ...req.headers, ...asksForHpke }, body: req.body });
    expect(anonymous.status).toBe(401);
    expect(await code(anonymous)).toBe('UNAUTHENTICATED');
    // ORG has client key 1, but the org header alone does not make the caller ORG: no response is encrypted to it.
    const otherToken = { ...(await apiHeaders(ORG_NOKEY, undefined, asksForHpke)), 'x-gw-ims-org-id': ORG };
    const forbidden = await fetch(`${runtime.url}${DATASETS}/000000000000000000000000`, { headers: otherToken });
    expect(forbidden.status).toBe(403);
    expect(await code(forbidden)).toBe('FORBIDDEN_ORG');
    // The client module hands such a plaintext problem back as it came.
    const hpkeFetch = createHpkeFetch({ serverKey: () => Promise.resolve(serverKey), clientKey });
    const viaClient = await hpkeFetch(`${runtime.url}${DATASETS}`, { method: 'POST', body: '{"name":"anonymous"}' });
    expect(viaClient.status).toBe(401);
    expect(await code(viaClient)).toBe('UNAUTHENTICATED');
  });

  it('refuses plaintext bodies with HPKE_REQUIRED once the org sets requireEncryption, and still takes encrypted ones', async () => {
    const setting = async () =>
      fetch(`${runtime.url}/api-encryption/settings`, {
        method: 'PUT',
        headers: await apiHeaders(ORG_STRICT, undefined, { 'content-type': 'application/json' }),
        body: JSON.stringify({ requireEncryption: true }),
      });
    // Not without a client key: no answer of the org could be read again.
    const early = await setting();
    expect(early.status).toBe(409);
    expect(await code(early)).toBe('HPKE_CLIENT_KEY_REQUIRED');
    const strictKey = await generateClientKeyPair(1);
    const put = await fetch(`${runtime.url}/api-encryption/client-keys/1`, {
      method: 'PUT',
      headers: await apiHeaders(ORG_STRICT, undefined, { 'content-type': 'application/json' }),
      body: JSON.stringify({ kemId: 32, publicKey: Buffer.from(strictKey.publicKey).toString('base64url') }),
    });
    expect(put.status).toBe(201);
    expect((await setting()).status).toBe(200);
    const plain = await fetch(`${runtime.url}${DATASETS}`, { method: 'POST', headers: await apiHeaders(ORG_STRICT, undefined, { 'content-type': 'application/json' }), body: '{"name":"p"}' });
    expect(plain.status).toBe(400);
    expect(await code(plain)).toBe('HPKE_REQUIRED');
    const sealed = await createHpkeFetch({ serverKey: () => Promise.resolve(serverKey), clientKey: strictKey })(`${runtime.url}${DATASETS}`, {
      method: 'POST',
      headers: await apiHeaders(ORG_STRICT),
      body: '{"name":"e"}',
    });
    expect(sealed.status).toBe(201);
    // Its last client key cannot go while encryption is required.
    const removed = await fetch(`${runtime.url}/api-encryption/client-keys/1`, { method: 'DELETE', headers: await apiHeaders(ORG_STRICT, undefined, { accept: 'application/octet-stream+hpke', 'x-hpke-format': '2' }) });
    expect(removed.status).toBe(409);
  });

  it('lists client keys and delays the re-use of a deleted key id', async () => {
    const headers = await apiHeaders(ORG);
    const list = (await (await fetch(`${runtime.url}/api-encryption/client-keys`, { headers })).json()) as { keys: { keyId: number }[] };
    expect(list.keys.map((k) => k.keyId)).toContain(1);
    const other = await generateClientKeyPair(4);
    const put = () =>
      fetch(`${runtime.url}/api-encryption/client-keys/4`, {
        method: 'PUT',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ kemId: 32, publicKey: Buffer.from(other.publicKey).toString('base64url') }),
      });
    expect((await put()).status).toBe(201);
    expect((await fetch(`${runtime.url}/api-encryption/client-keys/4`, { method: 'DELETE', headers })).status).toBe(204);
    const again = await put();
    expect(again.status).toBe(202);
    expect(((await again.json()) as { pending?: { effectiveTime: string } }).pending?.effectiveTime).toBeDefined();
  });
});
