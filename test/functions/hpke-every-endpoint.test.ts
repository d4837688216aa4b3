import { BlobServiceClient, ContainerClient, ContainerSASPermissions } from '@azure/storage-blob';
import { createMessage, encrypt, readKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevTls } from '../../local/dev-tls.js';
import { startKeyVaultEmulator, type KeyVaultEmulator } from '../../local/keyvault-emulator/index.js';
import { createHpkeFetch, generateClientKeyPair, HPKE_CHUNKED_MEDIA_TYPE, HPKE_MEDIA_TYPE, type ClientKeyPair, type ServerKeyInfo } from '../../shared/hpke/client.js';
import { OPERATIONS as ROUTES } from '../../shared/api/operations/index.js';
import type { HttpMethod, OperationSpec as RouteDoc } from '../../shared/http/operation.js';
import { generateKeyPair } from '../../shared/pgp/generate-key-pair.js';
import { AZURE_BLOB_CONNECTION_SPEC } from '../../shared/sources/connection-auth.js';
import { ApiClient, waitForRun, type LandingZoneCredential } from '../support/api-client.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { apiHeaders } from '../support/tokens.js';

const ORG = 'CF0904HPKE@AdobeOrg';
const OTHER_ORG = 'CF0905HPKE@AdobeOrg';
const CLIENT_KEY_ID = 7;
const PGP = '/data/foundation/connectors/encryption';
const CONFIG = '/data/infrastructure/manager/customer/config';
const ZONE = '/data/foundation/connectors/landingzone';
const EXPLORE = '/data/foundation/flowservice/connectionSpecs/26f526f2-58f4-4712-961d-e41bf1ccc0e8/explore';
const SANDBOXES = '/data/foundation/sandbox-management/sandboxes';
const CONNECTIONS = '/data/foundation/flowservice/connections';
const CSV = Buffer.from('id,name\n1,Ada\n2,Grace\n');

/** The routes whose JSON bodies and answers may travel HPKE-encrypted: every one must be exercised below. */
const JSON_ROUTES = ROUTES.filter((r) => r.hpke);

type Fetch = (url: string, init?: { method?: string; headers?: Record<string, string>; body?: string }) => Promise<Response>;

/** One operation called twice: n = 0 in plaintext, n = 1 encrypted both ways. */
interface Exchange {
  readonly method: HttpMethod;
  /** Path and query of call n (a function where each call needs its own object, as deletes do). */
  readonly path: string | ((n: number) => string);
  readonly body?: (n: number) => unknown;
  readonly status: number;
  /** Org of the plaintext call; the encrypted call is always ORG, which holds the client key. */
  readonly plainOrg?: string;
}

/** The route of ROUTES a request reaches; exactly one must match. */
function routeOf(method: HttpMethod, path: string): RouteDoc {
  const bare = path.split('?')[0] ?? '';
  const matches = JSON_ROUTES.filter((r) => {
    const pattern = r.route
      .split(/\{[^}]+\}/)
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]+');
    return r.method === method && new RegExp(`^/${pattern}$`).test(bare);
  });
  const [route] = matches;
  if (route === undefined || matches.length > 1) throw new Error(`${method} ${path} matches ${matches.length} JSON routes of ROUTES`);
  return route;
}

/**
 * Every JSON endpoint of the OpenAPI route table, called once in plaintext and once with an
 * HPKE-encrypted request and an encrypted response, in the order a customer sets up ingestion and
 * takes it down again: both must give the same status and a JSON body of the same shape. The
 * routes exercised are checked against ROUTES, so a new JSON route without a call here fails.
 */
describe('HPKE on every JSON endpoint', () => {
  let stack: LocalStack;
  /** The customer's own Key Vault: keys of the system KEK's vault are refused as CMK (CMK_KEY_NOT_OWNED). */
  let customerVault: KeyVaultEmulator;
  let runtime: RuntimeProcess;
  let hpkeFetch: Fetch;
  /** Content type of the last raw answer the encrypted caller received (before decryption). */
  let rawType: string | null = null;
  /** operationIds answered 2xx both ways. */
  const exercised = new Set<string>();
  let fileId: string | undefined;

  beforeAll(async () => {
    stack = await startLocalStack();
    customerVault = await startKeyVaultEmulator({ port: 0, tls: await ensureDevTls(), tokenAuthority: stack.vault.tokenAuthority });
    runtime = await startRuntime({
      ...stack.env,
      CIPHERFLOW_QUEUE_MAX_POLL_MS: '200',
      // Configs whose key does not exist reach FAILED within seconds, so both are read in the same status.
      CMK_RECONCILE_SCHEDULE: '*/1 * * * * *',
    });
    const { keys } = (await (await fetch(`${runtime.url}/api-encryption/keys`)).json()) as { keys: ServerKeyInfo[] };
    const serverKey = keys.find((k) => k.status === 'active');
    if (serverKey === undefined) throw new Error('no active server key');
    const clientKey = await generateClientKeyPair(CLIENT_KEY_ID);
    const put = await fetch(`${runtime.url}/api-encryption/client-keys/${CLIENT_KEY_ID}`, {
      method: 'PUT',
      headers: await apiHeaders(ORG, undefined, { 'content-type': 'application/json' }),
      body: JSON.stringify({ kemId: 32, publicKey: Buffer.from(clientKey.publicKey).toString('base64url') }),
    });
    expect(put.status).toBe(201);
    const recording: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      rawType = res.headers.get('content-type');
      return res;
    };
    hpkeFetch = createHpkeFetch({ serverKey: () => Promise.resolve(serverKey), clientKey, fetch: recording });
  });
  afterAll(async () => {
    await runtime?.stop();
    await customerVault?.close();
    await stack?.stop();
  });

  /** Calls an operation both ways; returns both answers' JSON (null for an empty body). */
  async function both(x: Exchange): Promise<[unknown, unknown]> {
    const answers: { status: number; json: unknown }[] = [];
    let route: RouteDoc | undefined;
    let label = '';
    for (const [n, call] of [fetch as Fetch, hpkeFetch].entries()) {
      const path = typeof x.path === 'string' ? x.path : x.path(n);
      label = `${x.method} ${path}${n === 1 ? ' (HPKE)' : ''}`;
      route = routeOf(x.method, path);
      const org = n === 0 ? (x.plainOrg ?? ORG) : ORG;
      const headers = await apiHeaders(org, undefined, x.body === undefined ? {} : { 'content-type': 'application/json' });
      rawType = null;
      const res = await call(`${runtime.url}${path}`, { method: x.method, headers, ...(x.body === undefined ? {} : { body: JSON.stringify(x.body(n)) }) });
      const text = await res.text();
      const json = text === '' ? null : (JSON.parse(text) as unknown);
      expect(res.status, `${label}: ${text}`).toBe(x.status);
      // Every answer with a body (success or problem) travelled encrypted, not just decrypted by luck.
      if (n === 1 && x.status !== 204) expect(rawType, label).toBe(HPKE_MEDIA_TYPE);
      answers.push({ status: res.status, json });
    }
    const [plain, sealed] = answers;
    expect(shape(sealed?.json), `${label}: same shape as in plaintext`).toEqual(shape(plain?.json));
    if (route !== undefined && x.status < 300) {
      // The answer is one the route table documents, and the route counts as covered.
      expect(route.success.map((s) => s.status), route.operationId).toContain(x.status);
      exercised.add(route.operationId);
    }
    return [plain?.json, sealed?.json];
  }

  it('answers the same, encrypted or not, through a whole set-up and take-down', async () => {
    // A development sandbox, created, read, listed and (empty) deleted again.
    const sandboxPath = (n: number) => `${SANDBOXES}/sb-hpke-${n}`;
    await both({ method: 'POST', path: SANDBOXES, body: (n) => ({ name: `sb-hpke-${n}`, title: `Sandbox ${n}`, type: 'development' }), status: 201 });
    await both({ method: 'GET', path: sandboxPath, status: 200 });
    await both({ method: 'GET', path: `${SANDBOXES}?limit=10`, status: 200 });
    await both({ method: 'DELETE', path: sandboxPath, status: 200 });

    type KeyCreated = { publicKeyId: string; publicKey: string };
    const keys = (await both({
      method: 'POST',
      path: `${PGP}/keys`,
      body: (n) => ({ name: `key-${n}`, encryptionAlgorithm: 'PGP', params: { passPhrase: 'passphrase' } }),
      status: 200,
    })) as [KeyCreated, KeyCreated];
    const [key] = keys;
    await both({ method: 'GET', path: `${PGP}/keys`, status: 200 });
    await both({ method: 'GET', path: `${PGP}/keys/${key.publicKeyId}`, status: 200 });
    await both({ method: 'GET', path: `${PGP}/keys/validate/${key.publicKeyId}`, status: 200 });

    const customer = await generateKeyPair({ passphrase: 'customer', name: 'Customer' });
    const [customerKey] = (await both({
      method: 'POST',
      path: `${PGP}/customer-keys`,
      body: () => ({ encryptionAlgorithm: 'PGP', publicKey: Buffer.from(customer.publicKeyArmored).toString('base64') }),
      status: 200,
    })) as [{ publicKeyId: string }, unknown];
    await both({ method: 'GET', path: `${PGP}/customer-keys`, status: 200 });

    const [refs] = (await both({ method: 'POST', path: '/data/foundation/catalog/dataSets', body: (n) => ({ name: `ds-${n}` }), status: 201 })) as [string[], unknown];
    const dataSetId = refs[0]?.split('/')[2] ?? '';
    await both({ method: 'GET', path: `/data/foundation/catalog/dataSets/${dataSetId}`, status: 200 });

    type Created = { id: string };
    const sources = (await both({
      method: 'POST',
      path: '/data/foundation/flowservice/sourceConnections',
      body: (n) => ({ name: `src-${n}`, data: { format: 'delimited' }, params: { path: `/in${n}/*.csv.gpg` } }),
      status: 201,
    })) as [Created, Created];
    await both({ method: 'GET', path: `/data/foundation/flowservice/sourceConnections/${sources[1].id}`, status: 200 });
    const targets = (await both({
      method: 'POST',
      path: '/data/foundation/flowservice/targetConnections',
      body: (n) => ({ name: `tgt-${n}`, params: { dataSetId } }),
      status: 201,
    })) as [Created, Created];
    await both({ method: 'GET', path: `/data/foundation/flowservice/targetConnections/${targets[1].id}`, status: 200 });

    // A base connection to a customer's own Blob container (its SAS is the secret the body carries).
    const customerContainer = BlobServiceClient.fromConnectionString(stack.azurite.connectionString).getContainerClient('hpke-customer');
    await customerContainer.createIfNotExists();
    await customerContainer.getBlockBlobClient('exports/a.csv.gpg').uploadData(Buffer.from('x'));
    const sasUri = await customerContainer.generateSasUrl({ permissions: ContainerSASPermissions.parse('rl'), expiresOn: new Date(Date.now() + 3_600_000) });
    const connections = (await both({
      method: 'POST',
      path: CONNECTIONS,
      body: (n) => ({ name: `blob-${n}`, auth: { specName: 'SAS URI Authentication', params: { sasUri } }, connectionSpec: { id: AZURE_BLOB_CONNECTION_SPEC, version: '1.0' } }),
      status: 201,
    })) as [Created, Created];
    await both({ method: 'GET', path: CONNECTIONS, status: 200 });
    await both({ method: 'GET', path: `${CONNECTIONS}/${connections[1].id}`, status: 200 });
    await both({ method: 'GET', path: `${CONNECTIONS}/${connections[1].id}/explore?objectType=folder&object=/exports`, status: 200 });
    await both({ method: 'DELETE', path: (n) => `${CONNECTIONS}/${connections[n === 0 ? 0 : 1].id}`, status: 204 });
    // Flow 0 verifies signatures with the customer key; flow 1 takes the unsigned file landed below.
    const flows = (await both({
      method: 'POST',
      path: '/data/foundation/flowservice/flows',
      body: (n) => ({
        name: `flow-${n}`,
        sourceConnectionIds: [sources[n === 0 ? 0 : 1].id],
        targetConnectionIds: [targets[n === 0 ? 0 : 1].id],
        transformations: [{ name: 'Encryption', params: { publicKeyId: key.publicKeyId, ...(n === 0 ? { signVerificationKeyId: customerKey.publicKeyId } : {}) } }],
      }),
      status: 201,
    })) as [Created, Created];
    await both({ method: 'GET', path: `/data/foundation/flowservice/flows/${flows[1].id}`, status: 200 });
    await both({ method: 'GET', path: '/data/foundation/flowservice/flows', status: 200 });

    // A file through flow 1 into the zone, on the SAS the encrypted call answered, so runs, batches,
    // the batch's files and the zone's listing have something to show.
    await both({ method: 'GET', path: `${ZONE}?type=user_drop_zone`, status: 200 });
    const [, credential] = (await both({ method: 'GET', path: `${ZONE}/credentials?type=user_drop_zone`, status: 200 })) as [unknown, LandingZoneCredential];
    const landing = new ContainerClient(credential.SASUri);
    // openpgp's declared return type does not survive typescript-eslint: narrow it here.
    const encrypted: unknown = await encrypt({
      message: await createMessage({ binary: new Uint8Array(CSV) }),
      encryptionKeys: await readKey({ armoredKey: Buffer.from(key.publicKey, 'base64').toString('utf8') }),
      format: 'binary',
    });
    if (!(encrypted instanceof Uint8Array)) throw new Error('openpgp returned no bytes');
    const uploaded = await landing.getBlockBlobClient('in1/hpke.csv.gpg').uploadData(Buffer.from(encrypted));
    const run = await waitForRun(new ApiClient(runtime.url, ORG), flows[1].id, 'in1/hpke.csv.gpg', { etag: uploaded.etag ?? '' });
    expect(run.status, JSON.stringify(run.errors)).toBe('success');
    await both({ method: 'GET', path: `/data/foundation/flowservice/runs?property=flowId==${flows[1].id}`, status: 200 });
    await both({ method: 'GET', path: `/data/foundation/catalog/batches?dataSet=${dataSetId}`, status: 200 });
    const [files] = (await both({ method: 'GET', path: `/data/foundation/export/batches/${run.batchId ?? ''}/files`, status: 200 })) as [
      { data: { dataSetFileId: string }[] },
      unknown,
    ];
    fileId = files.data[0]?.dataSetFileId;
    await both({ method: 'GET', path: `${EXPLORE}?objectType=root`, status: 200 });
    const [listed] = (await both({ method: 'GET', path: `${EXPLORE}?objectType=folder&object=${credential.containerName}/in1/`, status: 200 })) as [
      { path: string }[],
      unknown,
    ];
    expect(listed.map((i) => i.path)).toEqual([`${credential.containerName}/in1/hpke.csv.gpg`]);
    // Last: a refresh revokes the credential the file was landed with.
    await both({ method: 'POST', path: `${ZONE}/credentials?type=user_drop_zone&action=refresh`, status: 200 });

    await both({ method: 'GET', path: '/data/infrastructure/manager/byok/app-registration', status: 200 });
    // One configuration per org may be in progress, so the plaintext call configures another org.
    const configOrg = (n: number) => (n === 0 ? OTHER_ORG : ORG);
    await both({
      method: 'POST',
      path: CONFIG,
      body: (n) => ({
        name: `config-${n}`,
        type: 'BYOK_CONFIG',
        imsOrgId: configOrg(n),
        configData: { providerType: 'AZURE_KEYVAULT', keyVaultKeyIdentifier: `${customerVault.url}/keys/customer-key-${n}` },
      }),
      status: 200,
      plainOrg: OTHER_ORG,
    });
    // Neither key exists: both configs end FAILED (KEY_NOT_FOUND), so the plaintext and the sealed GET
    // answer the same status and shape (a NEW config has no `failure`); then both are deleted.
    for (const n of [0, 1]) await waitForConfigStatus(configOrg(n), `config-${n}`, 'FAILED');
    const configPath = (n: number) => `${CONFIG}/config-${n}?configType=BYOK_CONFIG`;
    await both({ method: 'GET', path: configPath, status: 200, plainOrg: OTHER_ORG });
    await both({ method: 'DELETE', path: configPath, status: 204, plainOrg: OTHER_ORG });

    const spareKeys: ClientKeyPair[] = await Promise.all([generateClientKeyPair(20), generateClientKeyPair(21)]);
    await both({ method: 'GET', path: '/api-encryption/client-keys', status: 200 });
    const clientKeyPath = (n: number) => `/api-encryption/client-keys/${20 + n}`;
    await both({
      method: 'PUT',
      path: clientKeyPath,
      body: (n) => ({ kemId: 32, publicKey: Buffer.from(spareKeys[n]?.publicKey ?? []).toString('base64url') }),
      status: 201,
    });
    await both({ method: 'DELETE', path: clientKeyPath, status: 204 });
    await both({ method: 'PUT', path: '/api-encryption/settings', body: () => ({ requireEncryption: false }), status: 200 });

    await both({ method: 'DELETE', path: (n) => `/data/foundation/flowservice/flows/${flows[n === 0 ? 0 : 1].id}`, status: 204 });
    // With its flows gone the PGP key is no longer in use (KEY_IN_USE before).
    await both({ method: 'DELETE', path: (n) => `${PGP}/keys/${keys[n === 0 ? 0 : 1].publicKeyId}`, status: 204 });

    // Errors are answered the same way too (problem+json, encrypted when asked).
    await both({ method: 'GET', path: '/data/foundation/catalog/dataSets/000000000000000000000000', status: 404 });
    await both({ method: 'POST', path: '/data/foundation/catalog/dataSets', body: () => ({ name: 7 }), status: 400 });
  }, 180_000);

  it('exercised every JSON route of the OpenAPI route table, both ways', () => {
    expect([...exercised].sort()).toEqual(JSON_ROUTES.map((r) => r.operationId).sort());
    // The only authenticated route that is not JSON is the streaming download (next test).
    expect(ROUTES.filter((r) => r.auth === 'required' && !r.hpke).map((r) => r.operationId)).toEqual(['export-files-get']);
  });

  it('answers a streaming download asked for as one HPKE message with a plaintext 406 HPKE_NOT_ACCEPTABLE, and seals it as a stream', async () => {
    expect(fileId, 'the set-up test ingested no file').toBeDefined();
    const url = `${runtime.url}/data/foundation/export/files/${fileId ?? ''}`;
    const refused = await fetch(url, { headers: await apiHeaders(ORG, undefined, { accept: HPKE_MEDIA_TYPE, 'x-hpke-client-key-id': String(CLIENT_KEY_ID), 'x-hpke-format': '2' }) });
    expect(refused.status).toBe(406);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await refused.json()).toMatchObject({ code: 'HPKE_NOT_ACCEPTABLE' });
    // The client module accepts the streamed form too, and opens it chunk by chunk.
    const viaClient = await hpkeFetch(url, { headers: await apiHeaders(ORG) });
    expect(viaClient.status).toBe(200);
    expect(rawType).toBe(HPKE_CHUNKED_MEDIA_TYPE);
    expect(Buffer.from(await viaClient.arrayBuffer()).equals(CSV)).toBe(true);
    // The same download without Accept: HPKE streams the file.
    const plain = await fetch(url, { headers: await apiHeaders(ORG) });
    expect(plain.status).toBe(200);
    expect(Buffer.from(await plain.arrayBuffer()).equals(CSV)).toBe(true);
  });

  async function waitForConfigStatus(org: string, name: string, wanted: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = await fetch(`${runtime.url}${CONFIG}/${name}?configType=BYOK_CONFIG`, { headers: await apiHeaders(org) });
      const view = (await res.json()) as { status?: string };
      if (view.status === wanted) return;
      if (Date.now() > deadline) throw new Error(`${org} ${name} never reached ${wanted}: ${JSON.stringify(view)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
});

/** The shape of a JSON value: keys and types, not values (ids and names differ between calls). */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? [] : [shape(value[0])];
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [/^[0-9a-f]{24}$/.test(k) ? '<id>' : k, shape(v)]));
  }
  return typeof value;
}
