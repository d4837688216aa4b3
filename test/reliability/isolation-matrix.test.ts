import { BlobServiceClient, ContainerClient, ContainerSASPermissions, RestError } from '@azure/storage-blob';
import { generateKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevTls } from '../../local/dev-tls.js';
import { startKeyVaultEmulator, type KeyVaultEmulator } from '../../local/keyvault-emulator/index.js';
import { DEV_CLIENT_ID } from '../../shared/config/defaults.js';
import { LANDING_ZONE_CONNECTION_SPEC } from '../../shared/landing-zones/explore.js';
import { OPERATIONS as ROUTES } from '../../shared/api/operations/index.js';
import { PGP_CONFIG } from '../../shared/pgp/config.js';
import { AZURE_BLOB_CONNECTION_SPEC } from '../../shared/sources/connection-auth.js';
import { ApiClient, ensureSandbox, landingZone, waitForRun, type LandingZoneCredential, type Run } from '../support/api-client.js';
import { ensureGpg, GpgHome } from '../support/gpg.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { issueDevToken } from '../support/tokens.js';
import { deliveries, FAST_TRIGGERS, until } from './faults-support.js';

/**
 * Tenant isolation, through the runtime, for EVERY route the host registers: org A (sandbox prod)
 * owns one of each object (PGP key, customer key, dataset, connections, flow, run, batch, file,
 * CMK config, HPKE client key, landing zone and its credential, a development sandbox). Then
 * every route is called as
 *   - org B with its own token: A's ids are 404 and lists never contain them (B's landing zone,
 *     credential and explore answer B's own zone, never A's); B cannot reference A's objects in
 *     what it creates, nor delete them;
 *   - org B's token with A's org header: 403 FORBIDDEN_ORG;
 *   - org A in sandbox `dev`: like org B; and on the org-wide settings (CMK configs, HPKE client
 *     keys and settings, creating and deleting sandboxes, which concern every sandbox) 403
 *     PRODUCTION_SANDBOX_REQUIRED, so a token scoped to a development sandbox cannot see or
 *     change them;
 * and a 404 for A's id is byte-identical (but for its requestId) to a 404 for an id that never
 * existed: no existence oracle. A blob's tenant is its landing zone's: a blob written into A's
 * zone becomes a run of A's flows only, whatever its name says, and B's credential cannot write
 * into A's zone.
 */

const A = 'ISOA0001AAAA@AdobeOrg';
const B = 'ISOB0002BBBB@AdobeOrg';
const CSV = Buffer.from('id,name\n1,Ada\n2,Grace\n');
const CMK_NAME = 'ConfigA';
const CLIENT_KEY_ID = '5';
/** A development sandbox of org A, besides `dev` (a name no response could contain by chance). */
const SANDBOX_A = 'isoa-sb1';
const ZONE_QUERY = '?type=user_drop_zone';
const CREDENTIALS = `/data/foundation/connectors/landingzone/credentials${ZONE_QUERY}`;

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
  /**
   * Org A's own Key Vault: keys of the system KEK's vault are never a customer's (CMK_KEY_NOT_OWNED).
   * Its key is never created: A's config is one of A's objects here, not a move of A's root keys.
   */
  let customerVault: KeyVaultEmulator;
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
    customerVault = await startKeyVaultEmulator({ port: 0, tls: await ensureDevTls(), tokenAuthority: stack.vault.tokenAuthority });
    runtime = await startRuntime({ ...stack.env, ...FAST_TRIGGERS });
    const started = await runtime.waitForLine((e) => e.event === 'host-started');
    routes = (started.routes as HostRoute[]).filter((r) => !r.route.includes('{*'));
    apiA = new ApiClient(runtime.url, A);
    gpg = await GpgHome.create();
    await ensureSandbox(runtime.url, A, 'dev');
    await ensureSandbox(runtime.url, A, SANDBOX_A);
    ids.sandbox = SANDBOX_A;
    const credential = await apiA.json<LandingZoneCredential>('GET', CREDENTIALS);
    landing = new ContainerClient(credential.SASUri);
    ids.zoneContainer = credential.containerName;
    ids.zoneSignature = new URLSearchParams(credential.SASToken).get('sig') ?? '';

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
    // A's own Blob container, reached through a SAS only A's connection holds (its signature must never show).
    const customerContainer = BlobServiceClient.fromConnectionString(stack.azurite.connectionString).getContainerClient('isoa-customer-data');
    await customerContainer.createIfNotExists();
    await customerContainer.getBlockBlobClient('exports/a.csv.gpg').uploadData(Buffer.from('x'));
    const sasUri = await customerContainer.generateSasUrl({ permissions: ContainerSASPermissions.parse('rl'), expiresOn: new Date(Date.now() + 3_600_000) });
    ids.connectionSasSignature = new URL(sasUri).searchParams.get('sig') ?? '';
    ids.connectionId = (
      await apiA.json<{ id: string }>('POST', '/data/foundation/flowservice/connections', {
        name: 'isoa blob',
        auth: { specName: 'SAS URI Authentication', params: { sasUri } },
        connectionSpec: { id: AZURE_BLOB_CONNECTION_SPEC, version: '1.0' },
      })
    ).id;
    ids.targetId = (await apiA.json<{ id: string }>('POST', '/data/foundation/flowservice/targetConnections', { name: 'to ds', params: { dataSetId: ids.dataSetId } })).id;
    ids.flowId = (
      await apiA.json<{ id: string }>('POST', '/data/foundation/flowservice/flows', {
        name: 'isolated flow',
        sourceConnectionIds: [ids.sourceId],
        targetConnectionIds: [ids.targetId],
        transformations: [{ name: 'Encryption', params: { publicKeyId: ids.publicKeyId } }],
      })
    ).id;

    const etag = (await landing.getBlockBlobClient('incoming/first.csv.gpg').uploadData(await gpg.encrypt(CSV, 'isolation key'))).etag ?? '';
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
      configData: { providerType: 'AZURE_KEYVAULT', keyVaultKeyIdentifier: `${customerVault.url}/keys/isolation-cmk` },
    });
    const clientKey = Buffer.alloc(32, 9);
    await apiA.json('PUT', `/api-encryption/client-keys/${CLIENT_KEY_ID}`, { kemId: 32, publicKey: clientKey.toString('base64url') });
    for (const [k, v] of Object.entries(ids)) expect(v, k).not.toBe('');
  }, 180_000);

  afterAll(async () => {
    await runtime?.stop();
    await customerVault?.close();
    await stack?.stop();
    await gpg?.dispose();
  });

  /** A's id for a route parameter, by the route's function name. */
  function paramValue(route: HostRoute, param: string): string {
    if (param === 'publicKeyId') return ids.publicKeyId ?? '';
    if (param === 'batchId') return ids.batchId ?? '';
    if (param === 'fileId') return ids.fileId ?? '';
    // Not an id: the one connection spec whose explore lists the caller's own landing zone.
    if (param === 'connectionSpecId') return LANDING_ZONE_CONNECTION_SPEC;
    if (param === 'name' && route.name.startsWith('sandboxes')) return ids.sandbox ?? '';
    if (param === 'name') return CMK_NAME;
    if (param === 'keyId') return CLIENT_KEY_ID;
    if (param === 'id' && route.name.startsWith('datasets')) return ids.dataSetId ?? '';
    if (param === 'id' && route.name.startsWith('flows')) return ids.flowId ?? '';
    if (param === 'id' && route.name.startsWith('source-connections')) return ids.sourceId ?? '';
    if (param === 'id' && route.name.startsWith('target-connections')) return ids.targetId ?? '';
    if (param === 'id' && route.name.startsWith('connections')) return ids.connectionId ?? '';
    throw new Error(`no id of org A for {${param}} of ${route.name}: extend the matrix`);
  }

  /** Queries that point a list at A's objects. */
  const QUERIES: Record<string, string> = {
    'runs-list': `?property=flowId==`,
    'batches-list': '?dataSet=',
    'cmk-configs-get': '?configType=BYOK_CONFIG',
    'cmk-configs-delete': '?configType=BYOK_CONFIG',
    'landing-zone-get': ZONE_QUERY,
    'landing-zone-credentials-get': ZONE_QUERY,
    'landing-zone-credentials-refresh': `${ZONE_QUERY}&action=refresh`,
  };
  function queryOf(route: HostRoute): string {
    if (route.name === 'runs-list') return `${QUERIES['runs-list']}${ids.flowId ?? ''}`;
    if (route.name === 'batches-list') return `${QUERIES['batches-list']}${ids.dataSetId ?? ''}`;
    // A's folder, named with A's container: read as a folder of the caller's own zone.
    if (route.name === 'connections-explore') return '?objectType=folder&object=/exports';
    if (route.name === 'landing-zone-explore') return `?objectType=folder&object=${encodeURIComponent(`${ids.zoneContainer ?? ''}/incoming/`)}`;
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
        return { name: 'steal', baseConnectionId: ids.connectionId, data: { format: 'delimited' }, params: { path: '/exports/*.csv.gpg' } };
      case 'datasets-create':
        return { name: 'isolated' };
      case 'encryption-keys-create':
        return { name: 'isolation key', encryptionAlgorithm: 'PGP', params: { passPhrase: 'another passphrase' } };
      case 'customer-keys-create':
        return { encryptionAlgorithm: 'PGP', publicKey: 'bm90IGEga2V5' };
      case 'cmk-configs-create':
        return { name: CMK_NAME, type: 'BYOK_CONFIG', imsOrgId: A, configData: { providerType: 'AZURE_KEYVAULT', keyVaultKeyIdentifier: `${customerVault.url}/keys/isolation-cmk` } };
      case 'api-encryption-client-keys-put':
        return { kemId: 32, publicKey: Buffer.alloc(32, 11).toString('base64url') };
      case 'api-encryption-settings-put':
        return { requireEncryption: false };
      case 'sandboxes-create':
        return { name: 'isoa-sb9', title: 'not for a dev token', type: 'development' };
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
  /**
   * The org's sandboxes themselves: any sandbox of the org may read them (they are the org's, not
   * one sandbox's data), so the dev sandbox is not expected to be refused them; org B and the
   * forbidden-org caller are.
   */
  const ORG_LEVEL = new Set(['sandboxes-list', 'sandboxes-get']);
  /** A route whose path names one of A's objects (explore's parameter is a fixed connection spec). */
  const hasIdParam = (r: HostRoute) => r.route.includes('{') && r.name !== 'landing-zone-explore';
  let current: Caller | undefined;
  const calls = (filter: (r: HostRoute, m: string) => boolean) =>
    tenantRoutes()
      .filter((r) => current !== A_DEV || (!ORG_WIDE.has(r.name) && !ORG_LEVEL.has(r.name)))
      .flatMap((r) => r.methods.filter((m) => filter(r, m)).map((m) => [r, m] as const));

  it('covers every registered HTTP route', () => {
    const names = routes.map((r) => r.name).sort();
    // A route added later must be placed in the matrix (paramValue throws for an unknown id).
    for (const r of tenantRoutes()) for (const m of r.methods) expect(() => pathOf(r), `${m} ${r.route}`).not.toThrow();
    expect(names.length).toBeGreaterThanOrEqual(36);
    expect(names).toEqual(expect.arrayContaining([
      'landing-zone-get', 'landing-zone-credentials-get', 'landing-zone-credentials-refresh', 'landing-zone-explore',
      'sandboxes-list', 'sandboxes-create', 'sandboxes-get', 'sandboxes-delete',
    ]));
    expect(tenantRoutes().length).toBe(routes.length - routes.filter((r) => PUBLIC.has(r.name)).length);
  });

  it("answers A its own zone on the landing zone routes (what the checks below must not find elsewhere)", async () => {
    const zone = await apiA.json<{ containerName: string }>('GET', `/data/foundation/connectors/landingzone${ZONE_QUERY}`);
    expect(zone.containerName).toBe(ids.zoneContainer);
    const credential = await apiA.json<LandingZoneCredential>('GET', CREDENTIALS);
    expect(new URLSearchParams(credential.SASToken).get('sig')).toBe(ids.zoneSignature);
    const explore = routes.find((r) => r.name === 'landing-zone-explore');
    if (explore === undefined) throw new Error('landing-zone-explore is not registered');
    const listed = await apiA.json<{ path: string }[]>('GET', pathOf(explore));
    expect(listed.map((item) => item.path)).toContain(`${ids.zoneContainer ?? ''}/incoming/first.csv.gpg`);
  });

  it('refuses org A in sandbox dev on every org-wide route with 403 PRODUCTION_SANDBOX_REQUIRED', async () => {
    expect([...ORG_WIDE].sort()).toEqual([
      'api-encryption-client-keys-delete', 'api-encryption-client-keys-list', 'api-encryption-client-keys-put',
      'api-encryption-settings-put', 'cmk-configs-create', 'cmk-configs-delete', 'cmk-configs-get',
      'sandboxes-create', 'sandboxes-delete',
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
    // The dev token created no sandbox.
    const sandboxes = await apiA.json<{ sandboxes: { name: string }[] }>('GET', '/data/foundation/sandbox-management/sandboxes');
    expect(sandboxes.sandboxes.map((sb) => sb.name).sort()).toEqual(['dev', SANDBOX_A, 'prod'].sort());
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
      for (const [route, method] of calls((r, m) => m === 'GET' && hasIdParam(r))) {
        const res = await call(who, method, pathOf(route));
        expect(res.status, `${method} ${route.route}: ${res.text}`).toBe(404);
        expect(res.contentType).toContain('application/problem+json');
        // A sandbox of another org is, to B, a sandbox that does not exist.
        expect(JSON.parse(res.text)).toMatchObject({ code: route.name === 'sandboxes-get' ? 'SANDBOX_NOT_FOUND' : 'NOT_FOUND' });
      }
    });

    it(`lists none of A's objects to ${who.label}`, async () => {
      current = who;
      for (const [route, method] of calls((r, m) => m === 'GET' && !hasIdParam(r))) {
        const res = await call(who, method, pathOf(route));
        expect(res.status, `${method} ${route.route}: ${res.text}`).toBeLessThan(500);
        // The caller's own zone, answered in full: a refusal here would prove nothing.
        if (route.name.startsWith('landing-zone')) expect(res.status, `${method} ${route.route}: ${res.text}`).toBe(200);
        for (const id of aIds()) expect(res.text.includes(id), `${method} ${route.route} lists ${id} to ${who.label}`).toBe(false);
        if (who === ORG_B) expect(res.text.includes(CMK_NAME), `${route.route} shows A's CMK config`).toBe(false);
      }
    });

    it(`answers ${who.label} identically for A's ids and ids that never existed (no existence oracle)`, async () => {
      current = who;
      for (const [route, method] of calls((r, m) => hasIdParam(r) && (m === 'GET' || m === 'DELETE'))) {
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
      for (const name of ['flows-create', 'target-connections-create', 'source-connections-create']) {
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
      `/data/foundation/flowservice/connections/${ids.connectionId ?? ''}`,
      `/data/foundation/export/batches/${ids.batchId ?? ''}/files`,
      `/data/infrastructure/manager/customer/config/${CMK_NAME}?configType=BYOK_CONFIG`,
      `/data/foundation/sandbox-management/sandboxes/${SANDBOX_A}`,
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

  /** The app's `ingestion-outcome` of a blob in a zone, once the runtime has handled its event. */
  function outcomeOf(container: string, blob: string): Record<string, unknown> | undefined {
    return deliveries(runtime).flatMap((d) => d.events).find((e) => e.event === 'ingestion-outcome' && e.container === container && e.blob === blob);
  }
  const settled = (zone: ContainerClient, blob: string) =>
    until(`the outcome of ${blob}`, () => Promise.resolve(outcomeOf(zone.containerName, blob)), 30_000);

  async function createFlowOfB(apiB: ApiClient, publicKeyId: string): Promise<string> {
    const [dataSetRef] = await apiB.json<string[]>('POST', '/data/foundation/catalog/dataSets', { name: 'b data' });
    const dataSetId = dataSetRef?.split('/')[2] ?? '';
    // The same folder as A's flow: a name in either zone is one both flows select.
    const source = await apiB.json<{ id: string }>('POST', '/data/foundation/flowservice/sourceConnections', { name: 'landing', data: { format: 'delimited' }, params: { path: '/incoming/*.csv.gpg' } });
    const target = await apiB.json<{ id: string }>('POST', '/data/foundation/flowservice/targetConnections', { name: 'to b data', params: { dataSetId } });
    const flow = await apiB.json<{ id: string }>('POST', '/data/foundation/flowservice/flows', {
      name: 'b flow',
      sourceConnectionIds: [source.id],
      targetConnectionIds: [target.id],
      transformations: [{ name: 'Encryption', params: { publicKeyId } }],
    });
    return flow.id;
  }

  it("ingests a blob written into A's zone for A only, whatever its name says", { timeout: 90_000 }, async () => {
    const apiB = new ApiClient(runtime.url, B);
    const keyB = await apiB.json<{ publicKey: string; publicKeyId: string }>('POST', '/data/foundation/connectors/encryption/keys', {
      name: 'tenant-b key',
      encryptionAlgorithm: 'PGP',
      params: { passPhrase: 'a passphrase of org B only' },
    });
    await gpg.importKey(Buffer.from(keyB.publicKey, 'base64').toString('utf8'));
    const flowB = await createFlowOfB(apiB, keyB.publicKeyId);
    const zoneB = await landingZone(apiB);
    const zoneADev = await landingZone(new ApiClient(runtime.url, A, 'dev'));
    expect(new Set([landing.containerName, zoneB.containerName, zoneADev.containerName]).size).toBe(3);
    // Decryptable with either org's key: wherever it went, it would be ingested there.
    const encrypted = await gpg.encrypt(CSV, 'isolation key', ['--recipient', 'tenant-b key']);

    // Names that claim another tenant (the old shared container's `{org}/{sandbox}/` prefix) or
    // lie outside A's flow; and, in A's dev zone, a name A's prod flow selects. (A source path
    // cannot hold `@`, so no flow of B selects a name that starts with B's org id.)
    const ignoredInZone: [ContainerClient, string][] = [
      [landing, `${B}/prod/incoming/claims-b.csv.gpg`],
      [landing, `${A}/prod/incoming/claims-a.csv.gpg`],
      [landing, `${A.toLowerCase()}/prod/incoming/lower.csv.gpg`],
      [landing, 'incoming/sub/deeper.csv.gpg'],
      [landing, 'incoming/not-csv.txt.gpg'],
      [zoneADev, 'incoming/dev.csv.gpg'],
    ];
    for (const [zone, name] of ignoredInZone) await zone.getBlockBlobClient(name).uploadData(encrypted);
    // Selected by A's flow and by B's: it is A's, because it is in A's zone.
    const bothEtag = (await landing.getBlockBlobClient('incoming/both.csv.gpg').uploadData(encrypted)).etag ?? '';
    // B's own control, in B's zone.
    const controlEtag = (await zoneB.getBlockBlobClient('incoming/b-control.csv.gpg').uploadData(encrypted)).etag ?? '';

    for (const [zone, name] of ignoredInZone) {
      expect(await settled(zone, name), `${zone.containerName}/${name}`).toMatchObject({ kind: 'ignored', reason: 'no-matching-flow' });
    }
    expect(await settled(landing, 'incoming/both.csv.gpg')).toMatchObject({ kind: 'done', runs: [{ flowId: ids.flowId, status: 'success', skipped: false }] });
    expect(await settled(zoneB, 'incoming/b-control.csv.gpg')).toMatchObject({ kind: 'done', runs: [{ flowId: flowB, status: 'success', skipped: false }] });

    const { items: runsA } = await apiA.json<{ items: Run[] }>('GET', `/data/foundation/flowservice/runs?property=flowId==${ids.flowId ?? ''}`);
    expect(runsA.map((r) => [r.fileName, r.status]).sort()).toEqual([['incoming/both.csv.gpg', 'success'], ['incoming/first.csv.gpg', 'success']]);
    expect(runsA.find((r) => r.fileName === 'incoming/both.csv.gpg')?.blobETag).toBe(bothEtag);
    const { items: runsB } = await apiB.json<{ items: Run[] }>('GET', `/data/foundation/flowservice/runs?property=flowId==${flowB}`);
    expect(runsB.map((r) => [r.fileName, r.blobETag, r.status])).toEqual([['incoming/b-control.csv.gpg', controlEtag, 'success']]);
    // Nothing ran in A's dev sandbox (it has no flow).
    const devRuns = await call(A_DEV, 'GET', '/data/foundation/flowservice/runs');
    expect(devRuns.text.includes('.csv.gpg'), devRuns.text).toBe(false);
  });

  it("refuses org B's credential on A's zone, and B's refresh leaves A's credential working", { timeout: 60_000 }, async () => {
    const apiB = new ApiClient(runtime.url, B);
    const data = await gpg.encrypt(CSV, 'isolation key');
    const onZoneA = (credential: LandingZoneCredential) => new ContainerClient(`${stack.landing.blobEndpoint}/${landing.containerName}?${credential.SASToken}`);
    const statusOfAttempt = (attempt: Promise<unknown>) =>
      attempt.then(
        () => 'allowed',
        (err: unknown) => (err instanceof RestError ? err.statusCode : String(err)),
      );
    const expectRefused = async (zoneA: ContainerClient, label: string) => {
      expect(await statusOfAttempt(zoneA.getBlockBlobClient('incoming/from-b.csv.gpg').uploadData(data)), `${label}: write`).toBe(403);
      expect(await statusOfAttempt(zoneA.listBlobsFlat().next()), `${label}: list`).toBe(403);
      expect(await statusOfAttempt(zoneA.getBlobClient('incoming/first.csv.gpg').getProperties()), `${label}: read`).toBe(403);
    };

    const credentialB = await apiB.json<LandingZoneCredential>('GET', CREDENTIALS);
    expect(credentialB.containerName).not.toBe(landing.containerName);
    await expectRefused(onZoneA(credentialB), "B's credential");

    // B and A's dev sandbox revoke their own credentials; B's new one does not reach A's zone either.
    const refreshedB = await apiB.json<LandingZoneCredential>('POST', `${CREDENTIALS}&action=refresh`);
    expect(refreshedB.SASToken).not.toBe(credentialB.SASToken);
    await new ApiClient(runtime.url, A, 'dev').json('POST', `${CREDENTIALS}&action=refresh`);
    await expectRefused(onZoneA(refreshedB), "B's refreshed credential");
    expect(await landing.getBlobClient('incoming/from-b.csv.gpg').exists()).toBe(false);

    // A's credential is untouched: still the one A is answered, and it still lands files.
    const again = await apiA.json<LandingZoneCredential>('GET', CREDENTIALS);
    expect(new URLSearchParams(again.SASToken).get('sig')).toBe(ids.zoneSignature);
    const etag = (await landing.getBlockBlobClient('incoming/after-refresh.csv.gpg').uploadData(data)).etag ?? '';
    expect((await waitForRun(apiA, ids.flowId ?? '', 'incoming/after-refresh.csv.gpg', { etag })).status).toBe('success');
    // A refused write is no upload: no event was published for it, in any zone.
    expect(deliveries(runtime).flatMap((d) => d.events).filter((e) => e.event === 'ingestion-outcome' && e.blob === 'incoming/from-b.csv.gpg')).toEqual([]);
  });
});
