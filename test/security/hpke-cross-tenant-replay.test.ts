import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHpkeFetch, decryptResponse, generateClientKeyPair, type ClientKeyPair, type ServerKeyInfo } from '../../shared/hpke/client.js';
import { ensureSandbox } from '../support/api-client.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { apiHeaders } from '../support/tokens.js';

const VICTIM = 'CF17F06VICT@AdobeOrg';
const ATTACKER = 'CF17F06ATTK@AdobeOrg';
const DATASETS = '/data/foundation/catalog/dataSets';

/** What an interceptor keeps of a sealed request it stopped on the way. */
interface Captured {
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

/**
 * Attack (#17, finding 6): a sealed request captured from org B (stopped before it reached us, so
 * the replay cache never saw its `enc`) was sent again with org A's token and headers, by someone
 * who holds a client key of A. Its AAD bound only method, path and timestamp, so it opened: the
 * body of B ran in A and the answer was sealed to the attacker's key. The same worked from one
 * sandbox to another, and within an org from one client key to another. Requests (format 2) now
 * bind org, sandbox and client key id; a request without the format header is refused with its
 * own code, not an opaque decryption failure.
 */
describe('attack: an HPKE request captured in one tenant, replayed in another', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let serverKey: ServerKeyInfo;
  let victimKey: ClientKeyPair;
  /** Client keys by org and key id: the attacker holds ATTACKER's, and (an insider) VICTIM's key 2. */
  const held = new Map<string, ClientKeyPair>();

  async function registerClientKey(org: string, keyId: number): Promise<ClientKeyPair> {
    const pair = await generateClientKeyPair(keyId);
    const res = await fetch(`${runtime.url}/api-encryption/client-keys/${keyId}`, {
      method: 'PUT',
      headers: await apiHeaders(org, undefined, { 'content-type': 'application/json' }),
      body: JSON.stringify({ kemId: 32, publicKey: Buffer.from(pair.publicKey).toString('base64url') }),
    });
    expect(res.status).toBe(201);
    held.set(`${org}/${keyId}`, pair);
    return pair;
  }

  /** The victim's client seals a request; the interceptor keeps it and answers 502 itself. */
  async function capture(org: string, sandbox: string | undefined, name: string): Promise<Captured> {
    let captured: Captured | undefined;
    const interceptor: typeof fetch = (_input, init) => {
      const headers = Object.fromEntries(new Headers(init?.headers).entries());
      if (!(init?.body instanceof Uint8Array)) throw new Error('the client sent no sealed bytes');
      captured = { headers, body: new Uint8Array(init.body) };
      return Promise.resolve(new Response('intercepted', { status: 502 }));
    };
    const hpkeFetch = createHpkeFetch({ serverKey: () => Promise.resolve(serverKey), clientKey: victimKey, fetch: interceptor });
    await hpkeFetch(`${runtime.url}${DATASETS}`, { method: 'POST', headers: await apiHeaders(org, sandbox), body: JSON.stringify({ name }) });
    if (captured === undefined) throw new Error('nothing captured');
    return captured;
  }

  /**
   * Sends the captured sealed bytes with another tenant's identity headers and reads the answer as
   * the attacker can: opened with the client key it was sealed to. Returns `status code`.
   */
  async function replay(captured: Captured, org: string, sandbox: string | undefined, extra: Record<string, string> = {}): Promise<string> {
    const identity = await apiHeaders(org, sandbox);
    const headers: Record<string, string> = { ...captured.headers, ...identity, ...extra };
    if (sandbox === undefined) delete headers['x-sandbox-name'];
    const res = await fetch(`${runtime.url}${DATASETS}`, { method: 'POST', headers, body: captured.body });
    const key = held.get(`${org}/${headers['x-hpke-client-key-id'] ?? ''}`);
    if (key === undefined || res.headers.get('content-type') !== 'application/octet-stream+hpke') return `${res.status} ${res.headers.get('content-type') ?? ''}`;
    // An answer to a request that opened is bound to its enc; a refusal before that is not.
    const body = new Uint8Array(await res.arrayBuffer());
    const binding = { clientKey: key, method: 'POST', url: DATASETS, status: res.status, org, sandbox: sandbox ?? 'prod', body };
    const plaintext = await decryptResponse({ ...binding, requestEnc: captured.body.subarray(7, 39) }).catch(() => decryptResponse(binding));
    const json = JSON.parse(Buffer.from(plaintext).toString('utf8')) as { code?: string };
    return `${res.status} ${json.code ?? JSON.stringify(json)}`;
  }

  beforeAll(async () => {
    stack = await startLocalStack();
    runtime = await startRuntime(stack.env);
    const { keys } = (await (await fetch(`${runtime.url}/api-encryption/keys`)).json()) as { keys: ServerKeyInfo[] };
    const active = keys.find((k) => k.status === 'active');
    if (active === undefined) throw new Error('no active server key');
    serverKey = active;
    victimKey = await registerClientKey(VICTIM, 1);
    await registerClientKey(ATTACKER, 1);
    await registerClientKey(VICTIM, 2);
    await ensureSandbox(runtime.url, VICTIM, 'dev');
  }, 120_000);
  afterAll(async () => {
    await runtime?.stop();
    await stack?.stop();
  });

  it('refuses a request of org B replayed with org A headers with HPKE_DECRYPT_FAILED', async () => {
    const captured = await capture(VICTIM, undefined, 'from-the-victim');
    expect(await replay(captured, ATTACKER, undefined)).toBe('400 HPKE_DECRYPT_FAILED');
  });

  it('refuses a request of one sandbox replayed in another sandbox of the same org', async () => {
    const captured = await capture(VICTIM, 'dev', 'from-dev');
    expect(await replay(captured, VICTIM, 'prod')).toBe('400 HPKE_DECRYPT_FAILED');
  });

  it('refuses a request whose x-hpke-client-key-id was changed to another key of the org', async () => {
    const captured = await capture(VICTIM, undefined, 'redirected');
    expect(await replay(captured, VICTIM, undefined, { 'x-hpke-client-key-id': '2' })).toBe('400 HPKE_DECRYPT_FAILED');
  });

  it('still runs the captured request in its own tenant (the binding is not over-strict)', async () => {
    const captured = await capture(VICTIM, 'dev', 'own-tenant');
    expect(await replay(captured, VICTIM, 'dev')).toMatch(/^201 /);
  });

  it('tells a client still on the old bytes (no x-hpke-format) apart with HPKE_FORMAT_UNSUPPORTED', async () => {
    const captured = await capture(VICTIM, undefined, 'old-client');
    const headers = { ...captured.headers, ...(await apiHeaders(VICTIM)) };
    delete headers['x-hpke-format'];
    const res = await fetch(`${runtime.url}${DATASETS}`, { method: 'POST', headers, body: captured.body });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('HPKE_FORMAT_UNSUPPORTED');
    const asked = await fetch(`${runtime.url}/data/foundation/flowservice/flows`, { headers: await apiHeaders(VICTIM, undefined, { accept: 'application/octet-stream+hpke' }) });
    expect(asked.status).toBe(400);
    expect(((await asked.json()) as { code: string }).code).toBe('HPKE_FORMAT_UNSUPPORTED');
  });
});
