import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { generateKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_CLIENT_ID } from '../../shared/auth/auth-config.js';
import { ROUTES } from '../../shared/openapi/routes.js';
import { PGP_CONFIG } from '../../shared/pgp/config.js';
import { ApiClient, waitForRun, type Run } from '../support/api-client.js';
import { ensureGpg, GpgHome } from '../support/gpg.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { issueDevToken } from '../support/tokens.js';

/**
 * Tenant isolation, through the runtime, for EVERY route the host registers: org A (sandbox prod)
 * owns one of each object (PGP key, customer key, dataset, connections, flow, run, batch, file,
 * CMK config, HPKE client key). Then every route is called as
 *   - org B with its own token: A's ids are 404 and lists never contain them; B cannot reference
 *     A's objects in what it creates, nor delete them;
 *   - org B's token with A's org header: 403 FORBIDDEN_ORG;
 *   - org A in sandbox `dev`: like org B; and on the org-wide settings (CMK configs, HPKE client
 *     keys and settings, which protect every sandbox) 403 PRODUCTION_SANDBOX_REQUIRED, so a token
 *     scoped to a development sandbox cannot see or change them;
 * and a 404 for A's id is byte-identical (but for its requestId) to a 404 for an id that never
 * existed: no existence oracle. Blobs outside `{A}/prod/` never become runs of A's prod flow.
 */

const A = 'ISOA0001AAAA@AdobeOrg';
const B = 'ISOB0002BBBB@AdobeOrg';
const CSV = Buffer.from('id,name\n1,Ada\n2,Grace\n');
const CMK_NAME = 'ConfigA';
const CLIENT_KEY_ID = '5';

interface HostRoute {
  readonly name: string;
  readonly methods: readonly string[];
  readonly route: string;
  readonly authLevel: string;
}

interface Caller {
  readonly label: string;
  headers(extra?: Record<string, string>): Promise<Record<string, string>>;
}

const caller = (label: string, tokenOrg: string, headerOrg: string, sandbox: string): Caller => ({
  label,
  headers: async (extra = {}) => ({
    authorization: `Bearer ${await issueDevToken({ org: tokenOrg })}`,
    'x-api-key': DEV_CLIENT_ID,
    'x-gw-ims-org-id': headerOrg,
    'x-sandbox-name': sandbox,
    ...extra,
  }),
});

const ORG_B = caller('org B', B, B, 'prod');
const B_AS_A = caller("org B's token with org A's header", B, A, 'prod');
const A_DEV = caller('org A, sandbox dev', A, A, 'dev');

/** An id of the same shape that names nothing: its last character changed. */
function neverExisted(id: string): string {
  const last = id.at(-1) ?? 'a';
  const swap = /[0-9]/.test(last) ? String((Number(last) + 1) % 10) : /[a-f]/i.test(last) ? (last.toLowerCase() === 'a' ? 'b' : 'a') : last === 'Z' ? 'Y' : 'Z';
  return id.slice(0, -1) + swap;
}

describe('tenant isolation matrix', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let gpg: GpgHome;
  let landing: ContainerClient;
  let apiA: ApiClient;
  let routes: HostRoute[];
  /** A's ids by route parameter meaning. */
  const ids: Record<string, string> = {};
  let firstRun: Run;

  beforeAll(async () => {
    ensureGpg();
    stack = await startLocalStack();
    runtime = await startRuntime({ ...stack.env, CIPHERFLOW_BLOB_POLL_MS: '200', CIPHERFLOW_BLOB_RETRY_DELAY_MS: '300' });
    const started = await runtime.waitForLine((e) => e.event === 'host-started');
    routes = (started.routes as HostRoute[]).filter((r) => !r.route.includes('{*'));
    apiA = new ApiClient(runtime.url, A);
    gpg = await GpgHome.create();
    landing = BlobServiceClient.fromConnectionString(stack.azurite.connectionString).getContainerClient('landing');
    await landing.createIfNotExists();

    const key = await apiA.json<{ publicKey: string; publicKeyId: string }>('POST', '/data/foundation/connectors/encryption/keys', {
      name: 'isolation key',
      encryptionAlgorithm: 'PGP',
      params: { passPhrase: 'a passphrase of org A only' },
    });
    ids.publicKeyId = key.publicKeyId;
    await gpg.importKey(Buffer.from(key.publicKey, 'base64').toString('utf8'));

    const signer = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'A signer' }], format: 'armored', config: PGP_CONFIG });
    const customer = await apiA.json<{ publicKeyId: string }>('POST', '/data/foundation/connectors/encryption/customer-keys', {
      encryptionAlgorithm: 'PGP',
      publicKey: Buffer.from(signer.publicKey).toString('base64'),
    });
    ids.customerKeyId = customer.publicKeyId;

    const [dataSetRef] = await apiA.json<string[]>('POST', '/data/foundation/catalog/dataSets', { name: 'isolated' });
    ids.dataSetId = dataSetRef?.split('/')[2] ?? '';
    ids.sourceId = (await apiA.json<{ id: string }>('POST', '/data/foundation/flowservice/sourceConnections', { name: 'landing', data: { format: 'delimited' }, params: { path: '/incoming/*.csv.gpg' } })).id;
    ids.targetId = (await apiA.json<{ id: string }>('POST', '/data/foundation/flowservice/targetConnections', { name: 'to ds', params: { dataSetId: ids.dataSetId } })).id;
    ids.flowId = (
      await apiA.json<{ id: string }>('POST', '/data/foundation/flowservice/flows', {
        name: 'isolated flow',
        sourceConnectionIds: [ids.sourceId],
        targetConnectionIds: [ids.targetId],
        transformations: [{ name: 'Encryption', params: { publicKeyId: ids.publicKeyId } }],
      })
    ).id;

    const etag = (await landing.getBlockBlobClient(`${A}/prod/incoming/first.csv.gpg`).uploadData(await gpg.encrypt(CSV, 'isolation key'))).etag ?? '';
    firstRun = await waitForRun(apiA, ids.flowId, 'incoming/first.csv.gpg', { etag });
    expect(firstRun.status).toBe('success');
    ids.runId = firstRun.id;
    ids.batchId = firstRun.batchId ?? '';
    const files = await apiA.json<{ data: { dataSetFileId: string }[] }>('GET', `/data/foundation/export/batches/${ids.batchId}/files`);
    ids.fileId = files.data[0]?.dataSetFileId ?? '';

    await apiA.json('POST', '/data/infrastructure/manager/customer/config', {
      name: CMK_NAME,
      type: 'BYOK_CONFIG',
      imsOrgId: A,
      configData: { providerType: 'AZURE_KEYVAULT', keyVaultKeyIdentifier: `${stack.vault.url}/keys/isolation-cmk` },
    });
    const clientKey = Buffer.alloc(32, 9);
    await apiA.json('PUT', `/api-encryption/client-keys/${CLIENT_KEY_ID}`, { kemId: 32, publicKey: clientKey.toString('base64url') });
    for (const [k, v] of Object.entries(ids)) expect(v, k).not.toBe('');
  }, 180_000);

  afterAll(async () => {
    await runtime?.stop();
    await stack?.stop();
    await gpg?.dispose();
  });

  /** A's id for a route parameter, by the route's function name. */
  function paramValue(route: HostRoute, param: string): string {
    if (param === 'publicKeyId') return ids.publicKeyId ?? '';
    if (param === 'batchId') return ids.batchId ?? '';
    if (param === 'fileId') return ids.fileId ?? '';
    if (param === 'name') return CMK_NAME;
    if (param === 'keyId') return CLIENT_KEY_ID;
    if (param === 'id' && route.name.startsWith('datasets')) return ids.dataSetId ?? '';
    if (param === 'id' && route.name.startsWith('flows')) return ids.flowId ?? '';
    if (param === 'id' && route.name.startsWith('source-connections')) return ids.sourceId ?? '';
    if (param === 'id' && route.name.startsWith('target-connections')) return ids.targetId ?? '';
    throw new Error(`no id of org A for {${param}} of ${route.name}: extend the matrix`);
  }

  /** Queries that point a list at A's objects. */
  const QUERIES: Record<string, string> = {
    'runs-list': `?property=flowId==`,
    'batches-list': '?dataSet=',
    'cmk-configs-get': '?configType=BYOK_CONFIG',
    'cmk-configs-delete': '?configType=BYOK_CONFIG',
  };
  function queryOf(route: HostRoute): string {
    if (route.name === 'runs-list') return `${QUERIES['runs-list']}${ids.flowId ?? ''}`;
    if (route.name === 'batches-list') return `${QUERIES['batches-list']}${ids.dataSetId ?? ''}`;
    return QUERIES[route.name] ?? '';
  }

  /** Bodies that name A's objects wherever a body can reference one. */
  function bodyOf(route: HostRoute): unknown {
    switch (route.name) {
      case 'flows-create':
        return { name: 'steal', sourceConnectionIds: [ids.sourceId], targetConnectionIds: [ids.targetId], transformations: [{ name: 'Encryption', params: { publicKeyId: ids.publicKeyId, signVerificationKeyId: ids.customerKeyId } }] };
      case 'target-connections-create':
        return { name: 'steal', params: { dataSetId: ids.dataSetId } };
      case 'source-connections-create':
        return { name: 'mine', data: { format: 'delimited' }, params: { path: '/incoming/*.csv.gpg' } };
      case 'datasets-create':
        return { name: 'isolated' };
      case 'encryption-keys-create':
        return { name: 'isolation key', encryptionAlgorithm: 'PGP', params: { passPhrase: 'another passphrase' } };
      case 'customer-keys-create':
        return { encryptionAlgorithm: 'PGP', publicKey: 'bm90IGEga2V5' };
      case 'cmk-configs-create':
        return { name: CMK_NAME, type: 'BYOK_CONFIG', imsOrgId: A, configData: { providerType: 'AZURE_KEYVAULT', keyVaultKeyIdentifier: `${stack.vault.url}/keys/isolation-cmk` } };
      case 'api-encryption-client-keys-put':
        return { kemId: 32, publicKey: Buffer.alloc(32, 11).toString('base64url') };
      case 'api-encryption-settings-put':
        return { requireEncryption: false };
      default:
        return undefined;
    }
  }

  function pathOf(route: HostRoute, mapId: (id: string) => string = (id) => id): string {
    return `/${route.route.replace(/\{([A-Za-z]+)(?::[^}]*)?\??\}/g, (_m, p: string) => encodeURIComponent(mapId(paramValue(route, p))))}${queryOf(route)}`;
  }

  async function call(who: Caller, method: string, path: string, body?: unknown) {
    const headers = await who.headers(body === undefined ? {} : { 'content-type': 'application/json' });
    const res = await fetch(`${runtime.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: res.status, text: await res.text(), contentType: res.headers.get('content-type') ?? '' };
  }

  const aIds = () => Object.values(ids);
  /** Routes that serve no tenant data (public keys, the app registration, the API description). */
  const PUBLIC = new Set(['health', 'api-encryption-keys-list', 'openapi-get', 'cmk-app-registration-get']);
  const tenantRoutes = () => routes.filter((r) => r.authLevel !== undefined && !PUBLIC.has(r.name));
  /**
   * Org-wide by design, shared by every sandbox of the org: the CMK config (one customer key wraps
   * every sandbox root key) and the HPKE client keys and settings (one API client per org). The
   * API description marks them; the dev sandbox is refused on them outright (checked below), so
   * the 404 checks run them for org B and the forbidden-org caller.
   */
  const ORG_WIDE = new Set(ROUTES.filter((r) => r.orgWide === true).map((r) => r.operationId));
  const hasParam = (r: HostRoute) => r.route.includes('{');
  let current: Caller | undefined;
  const calls = (filter: (r: HostRoute, m: string) => boolean) =>
    tenantRoutes()
      .filter((r) => current !== A_DEV || !ORG_WIDE.has(r.name))
      .flatMap((r) => r.methods.filter((m) => filter(r, m)).map((m) => [r, m] as const));

  it('covers every registered HTTP route', () => {
    const names = routes.map((r) => r.name).sort();
    // A route added later must be placed in the matrix (paramValue throws for an unknown id).
    for (const r of tenantRoutes()) for (const m of r.methods) expect(() => pathOf(r), `${m} ${r.route}`).not.toThrow();
    expect(names.length).toBeGreaterThanOrEqual(28);
    expect(tenantRoutes().length).toBe(routes.length - routes.filter((r) => PUBLIC.has(r.name)).length);
  });

  it('refuses org A in sandbox dev on every org-wide route with 403 PRODUCTION_SANDBOX_REQUIRED', async () => {
    expect([...ORG_WIDE].sort()).toEqual([
      'api-encryption-client-keys-delete', 'api-encryption-client-keys-list', 'api-encryption-client-keys-put',
      'api-encryption-settings-put', 'cmk-configs-create', 'cmk-configs-delete', 'cmk-configs-get',
    ]);
    for (const route of tenantRoutes().filter((r) => ORG_WIDE.has(r.name))) {
      for (const method of route.methods) {
        const res = await call(A_DEV, method, pathOf(route), bodyOf(route));
        expect(res.status, `${method} ${route.route}: ${res.text}`).toBe(403);
        expect(JSON.parse(res.text)).toMatchObject({ code: 'PRODUCTION_SANDBOX_REQUIRED' });
        for (const secret of [...aIds(), CMK_NAME]) expect(res.text.includes(secret), `${method} ${route.route} leaks ${secret}`).toBe(false);
      }
    }
    // Every other tenant route serves the dev sandbox (its own, empty, data).
    const flows = await call(A_DEV, 'GET', '/data/foundation/flowservice/flows');
    expect(flows.status).toBe(200);
  });

  it("refuses org B's token with org A's header on every tenant route with 403 FORBIDDEN_ORG", async () => {
    current = B_AS_A;
    for (const [route, method] of calls(() => true)) {
      const res = await call(B_AS_A, method, pathOf(route), bodyOf(route));
      expect(res.status, `${method} ${route.route}: ${res.text}`).toBe(403);
      expect(JSON.parse(res.text)).toMatchObject({ code: 'FORBIDDEN_ORG' });
      for (const id of aIds()) expect(res.text.includes(id), `${method} ${route.route} leaks ${id}`).toBe(false);
    }
  });

  for (const who of [ORG_B, A_DEV]) {
    it(`answers ${who.label} 404 NOT_FOUND for A's ids on every read route`, async () => {
      current = who;
      for (const [route, method] of calls((r, m) => m === 'GET' && hasParam(r))) {
        const res = await call(who, method, pathOf(route));
        expect(res.status, `${method} ${route.route}: ${res.text}`).toBe(404);
        expect(res.contentType).toContain('application/problem+json');
        expect(JSON.parse(res.text)).toMatchObject({ code: 'NOT_FOUND' });
      }
    });

    it(`lists none of A's objects to ${who.label}`, async () => {
      current = who;
      for (const [route, method] of calls((r, m) => m === 'GET' && !hasParam(r))) {
        const res = await call(who, method, pathOf(route));
        expect(res.status, `${method} ${route.route}: ${res.text}`).toBeLessThan(500);
        for (const id of aIds()) expect(res.text.includes(id), `${method} ${route.route} lists ${id} to ${who.label}`).toBe(false);
        if (who === ORG_B) expect(res.text.includes(CMK_NAME), `${route.route} shows A's CMK config`).toBe(false);
      }
    });

    it(`answers ${who.label} identically for A's ids and ids that never existed (no existence oracle)`, async () => {
      current = who;
      for (const [route, method] of calls((r, m) => hasParam(r) && (m === 'GET' || m === 'DELETE'))) {
        if (route.name === 'api-encryption-client-keys-delete') continue; // B's own key ids: see below
        const theirs = await call(who, method, pathOf(route));
        const nobody = await call(who, method, pathOf(route, neverExisted));
        // The detail may quote the id the caller sent; everything else must match byte for byte.
        const strip = (text: string) => {
          let out = text.replace(/"requestId":"[^"]*"/, '"requestId":""');
          for (const id of [...aIds(), CMK_NAME]) out = out.replaceAll(id, '{id}').replaceAll(neverExisted(id), '{id}');
          return out;
        };
        expect(theirs.status, `${method} ${route.route}`).toBe(nobody.status);
        expect(strip(theirs.text), `${method} ${route.route}`).toBe(strip(nobody.text));
      }
    });

    it(`lets ${who.label} create nothing that references A's objects`, async () => {
      for (const name of ['flows-create', 'target-connections-create']) {
        const route = routes.find((r) => r.name === name);
        if (route === undefined) throw new Error(`${name} is not registered`);
        const res = await call(who, 'POST', pathOf(route), bodyOf(route));
        expect(res.status, `${name}: ${res.text}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `${name}: ${res.text}`).toBeLessThan(500);
        expect(['NOT_FOUND', 'INVALID_REQUEST']).toContain((JSON.parse(res.text) as { code: string }).code);
      }
      // A CMK config naming org A in its body is refused for B (imsOrgId must be the caller's org).
      const cmk = routes.find((r) => r.name === 'cmk-configs-create');
      if (cmk !== undefined && who === ORG_B) {
        const res = await call(who, 'POST', pathOf(cmk), bodyOf(cmk));
        expect(res.status, res.text).toBe(400);
      }
    });
  }

  it("lets no other tenant delete or overwrite A's objects", async () => {
    for (const who of [ORG_B, A_DEV, B_AS_A]) {
      current = who;
      for (const [route, method] of calls((_r, m) => m === 'DELETE' || m === 'PUT')) {
        const res = await call(who, method, pathOf(route), bodyOf(route));
        expect(res.status, `${who.label} ${method} ${route.route}`).toBeLessThan(500);
      }
    }
    // Everything of A is still there and unchanged.
    for (const path of [
      `/data/foundation/connectors/encryption/keys/${ids.publicKeyId ?? ''}`,
      `/data/foundation/catalog/dataSets/${ids.dataSetId ?? ''}`,
      `/data/foundation/flowservice/flows/${ids.flowId ?? ''}`,
      `/data/foundation/flowservice/sourceConnections/${ids.sourceId ?? ''}`,
      `/data/foundation/flowservice/targetConnections/${ids.targetId ?? ''}`,
      `/data/foundation/export/batches/${ids.batchId ?? ''}/files`,
      `/data/infrastructure/manager/customer/config/${CMK_NAME}?configType=BYOK_CONFIG`,
    ]) {
      const res = await apiA.request('GET', path);
      expect(res.status, path).toBe(200);
      await res.arrayBuffer();
    }
    const file = await apiA.request('GET', `/data/foundation/export/files/${ids.fileId ?? ''}`);
    expect(Buffer.from(await file.arrayBuffer()).equals(CSV)).toBe(true);
    const clientKeys = await apiA.json<{ keys?: { keyId: number; publicKey: string }[] } | { keyId: number; publicKey: string }[]>('GET', '/api-encryption/client-keys');
    expect(JSON.stringify(clientKeys)).toContain(Buffer.alloc(32, 9).toString('base64url'));
    expect(JSON.stringify(clientKeys)).not.toContain(Buffer.alloc(32, 11).toString('base64url'));
  });

  it("never ingests a blob outside {A}/prod/ into A's prod flow", async () => {
    const encrypted = await gpg.encrypt(CSV, 'isolation key');
    const hostile = [
      `${B}/prod/incoming/b.csv.gpg`,
      `${A}/dev/incoming/dev.csv.gpg`,
      `${A.toLowerCase()}/prod/incoming/lower.csv.gpg`,
      `x/${A}/prod/incoming/nested.csv.gpg`,
      `${A}/prod/incoming/sub/deeper.csv.gpg`,
      `${A}/prod/incoming/not-csv.txt.gpg`,
      `${A}prod/incoming/glued.csv.gpg`,
    ];
    for (const name of hostile) await landing.getBlockBlobClient(name).uploadData(encrypted);
    // A positive control landed after them: once it has a run, the others were seen too.
    const etag = (await landing.getBlockBlobClient(`${A}/prod/incoming/control.csv.gpg`).uploadData(encrypted)).etag ?? '';
    const control = await waitForRun(apiA, ids.flowId ?? '', 'incoming/control.csv.gpg', { etag });
    expect(control.status).toBe('success');
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    const { items } = await apiA.json<{ items: Run[] }>('GET', `/data/foundation/flowservice/runs?property=flowId==${ids.flowId ?? ''}`);
    expect(items.map((r) => r.fileName).sort()).toEqual(['incoming/control.csv.gpg', 'incoming/first.csv.gpg']);
    // And nothing ran for org B or A's dev sandbox either (neither has a flow).
    for (const who of [ORG_B, A_DEV]) {
      const runs = await call(who, 'GET', '/data/foundation/flowservice/runs');
      expect(runs.text.includes('.csv.gpg'), `${who.label}: ${runs.text}`).toBe(false);
    }
  });
});
