import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHpkeFetch, generateClientKeyPair, type ClientKeyPair, type ServerKeyInfo } from '../../shared/hpke/client.js';
import { ingestFile } from '../hpke/export-fixture.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { apiHeaders } from '../support/tokens.js';

const ORG = 'CF17F08REQD@AdobeOrg';
const CLIENT_KEY_ID = 3;
const SECRET = 'secret-customer-7f3a';
const CSV = Buffer.from(`id,name\n1,${SECRET}\n`);
const HPKE = 'application/octet-stream+hpke';

/**
 * Attack (#17, finding 8): an org set `requireEncryption`, yet only request bodies had to be
 * encrypted: every GET, the export of decrypted data among them, was answered in plaintext to
 * anyone on the path who could see it, and an export could not be encrypted at all (406). Now
 * every authenticated answer of such an org is sealed, or refused before the handler runs with
 * HPKE_REQUIRED (no Accept of an HPKE type) or HPKE_NO_CLIENT_KEY (no key to seal to); those
 * problems carry no data of the org.
 */
describe('attack: reading plaintext answers from an org that requires encryption', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let clientKey: ClientKeyPair;
  let serverKey: ServerKeyInfo;
  let fileId: string;
  let dataSetId: string;

  beforeAll(async () => {
    stack = await startLocalStack();
    runtime = await startRuntime({ ...stack.env, CIPHERFLOW_QUEUE_MAX_POLL_MS: '200' });
    fileId = await ingestFile(runtime.url, ORG, CSV, 'required');
    const created = await fetch(`${runtime.url}/data/foundation/catalog/dataSets`, {
      method: 'POST',
      headers: await apiHeaders(ORG, undefined, { 'content-type': 'application/json' }),
      body: JSON.stringify({ name: SECRET }),
    });
    dataSetId = ((await created.json()) as string[])[0]?.split('/')[2] ?? '';
    const { keys } = (await (await fetch(`${runtime.url}/api-encryption/keys`)).json()) as { keys: ServerKeyInfo[] };
    const active = keys.find((k) => k.status === 'active');
    if (active === undefined) throw new Error('no active server key');
    serverKey = active;
    clientKey = await generateClientKeyPair(CLIENT_KEY_ID);
    const put = await fetch(`${runtime.url}/api-encryption/client-keys/${CLIENT_KEY_ID}`, {
      method: 'PUT',
      headers: await apiHeaders(ORG, undefined, { 'content-type': 'application/json' }),
      body: JSON.stringify({ kemId: 32, publicKey: Buffer.from(clientKey.publicKey).toString('base64url') }),
    });
    expect(put.status).toBe(201);
    const settings = await fetch(`${runtime.url}/api-encryption/settings`, {
      method: 'PUT',
      headers: await apiHeaders(ORG, undefined, { 'content-type': 'application/json' }),
      body: JSON.stringify({ requireEncryption: true }),
    });
    expect(settings.status).toBe(200);
  }, 180_000);
  afterAll(async () => {
    await runtime?.stop();
    await stack?.stop();
  });

  const reads = () => [
    `/data/foundation/export/files/${fileId}`,
    `/data/foundation/catalog/dataSets/${dataSetId}`,
    '/data/foundation/connectors/encryption/keys',
    '/data/foundation/flowservice/flows',
    '/api-encryption/client-keys',
  ];

  it('refuses every plaintext GET with HPKE_REQUIRED and no data in the problem', async () => {
    const codes: string[] = [];
    for (const path of reads()) {
      const res = await fetch(`${runtime.url}${path}`, { headers: await apiHeaders(ORG) });
      const text = await res.text();
      expect(text).not.toContain(SECRET);
      expect(res.headers.get('content-type'), path).toMatch(/^application\/problem\+json/);
      codes.push(`${res.status} ${(JSON.parse(text) as { code?: string }).code ?? ''}`);
    }
    expect(codes).toEqual(reads().map(() => '400 HPKE_REQUIRED'));
  });

  it('refuses an answer it has no key to seal to with HPKE_NO_CLIENT_KEY, in plaintext without data', async () => {
    const res = await fetch(`${runtime.url}/data/foundation/export/files/${fileId}`, {
      headers: await apiHeaders(ORG, undefined, { accept: HPKE, 'x-hpke-client-key-id': '200', 'x-hpke-format': '2' }),
    });
    expect(res.status).toBe(406);
    const text = await res.text();
    expect(text).not.toContain(SECRET);
    expect((JSON.parse(text) as { code: string }).code).toBe('HPKE_NO_CLIENT_KEY');
  });

  it('seals every authenticated answer, the export among them, for a client that asks', async () => {
    const types: string[] = [];
    const recording: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      types.push(res.headers.get('content-type') ?? '');
      return res;
    };
    const hpkeFetch = createHpkeFetch({ serverKey: () => Promise.resolve(serverKey), clientKey, fetch: recording });
    const statuses: number[] = [];
    for (const path of reads()) {
      const res = await hpkeFetch(`${runtime.url}${path}`, { headers: await apiHeaders(ORG) });
      statuses.push(res.status);
      if (path.includes('/export/files/')) expect(Buffer.from(await res.arrayBuffer()).equals(CSV)).toBe(true);
      else await res.arrayBuffer();
    }
    expect(statuses).toEqual(reads().map(() => 200));
    expect(types.filter((t) => !t.startsWith('application/octet-stream+hpke'))).toEqual([]);
  });
});
