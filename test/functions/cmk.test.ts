import { TableClient } from '@azure/data-tables';
import { KeyClient, type KeyOperation } from '@azure/keyvault-keys';
import type { ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevTls } from '../../local/dev-tls.js';
import { startKeyVaultEmulator, type KeyVaultEmulator } from '../../local/keyvault-emulator/index.js';
import { ApiClient, ensureSandbox, landingZone, waitForRun, type Run } from '../support/api-client.js';
import { ensureGpg, GpgHome } from '../support/gpg.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { customerAdmin } from '../support/customer-vault.js';

const ORG = 'CF00C0C0C0@AdobeOrg';
const CSV = Buffer.from('id,name\n1,Ada\n2,Grace\n');
const CONFIG = '/data/infrastructure/manager/customer/config';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Each history timestamp is an ISO-8601 instant, and they never go back in time. */
function expectIsoHistory(view: ConfigView): void {
  for (const at of [view.createdAt, view.updatedAt, ...view.history.map((h) => h.at)]) expect(new Date(at).toISOString()).toBe(at);
  const times = view.history.map((h) => Date.parse(h.at));
  expect(times).toEqual([...times].sort((a, b) => a - b));
}

interface ConfigView {
  id: string;
  name: string;
  type: string;
  imsOrgId: string;
  rowType: string;
  status: string;
  createdAt: string;
  updatedAt: string;
  activeKeyVersion?: string;
  failure?: { code: string; message: string };
  history: { status: string; at: string; code?: string; event?: string }[];
  progress: { sandboxesRewrapped: number };
  configData: { keyVaultUri: string; keyName: string; keyVaultKeyIdentifier: string; keyVersion?: string; providerType: string };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Customer-managed keys end to end: the customer's vault is a second Key Vault emulator trusting the
 * same (emulated) Entra ID as our system vault, the reconciler is the app's timer at one-second
 * cycles, and KEY_CACHE_TTL_SECONDS is 2 so "within the TTL" is observable.
 */
describe('customer-managed keys (BYOK)', () => {
  let stack: LocalStack;
  let customerVault: KeyVaultEmulator;
  let unprotectedVault: KeyVaultEmulator;
  let customerKeys: KeyClient;
  let runtime: RuntimeProcess;
  let runtimeEnv: Record<string, string>;
  let api: ApiClient;
  let gpg: GpgHome;
  let landing: ContainerClient;
  let rootKeys: TableClient;
  let appPrincipal: string;

  beforeAll(async () => {
    ensureGpg();
    stack = await startLocalStack();
    const tls = await ensureDevTls();
    customerVault = await startKeyVaultEmulator({ port: 0, tls, tokenAuthority: stack.vault.tokenAuthority });
    unprotectedVault = await startKeyVaultEmulator({ port: 0, tls, tokenAuthority: stack.vault.tokenAuthority });
    await unprotectedVault.setPurgeProtection(false);
    customerKeys = new KeyClient(customerVault.url, customerAdmin(customerVault), { disableChallengeResourceVerification: true });
    appPrincipal = stack.vault.systemAssignedIdentity.principalId;
    runtimeEnv = {
      ...stack.env,
      KEY_CACHE_TTL_SECONDS: '2',
      CMK_RECONCILE_SCHEDULE: '*/1 * * * * *',
      CIPHERFLOW_TIMER_LOCK_POLL_MS: '500',
      CIPHERFLOW_QUEUE_MAX_POLL_MS: '200',
    };
    runtime = await startRuntime(runtimeEnv);
    api = new ApiClient(runtime.url, ORG);
    gpg = await GpgHome.create();
    landing = await landingZone(api);
    rootKeys = TableClient.fromConnectionString(stack.azurite.connectionString, 'rootkeys', { allowInsecureConnection: true });
  });

  afterAll(async () => {
    await runtime?.stop();
    await customerVault?.close();
    await unprotectedVault?.close();
    await stack?.stop();
    await gpg?.dispose();
  });

  /** A key of the customer's, tagged `cipherflow-org` for `org` (step 1.4 of the README: the proof it is the org's). */
  async function customerKey(name: string, options: { keySize?: number; keyOps?: KeyOperation[]; vault?: KeyVaultEmulator; org?: string } = {}) {
    const client = options.vault === undefined ? customerKeys : new KeyClient(options.vault.url, customerAdmin(options.vault), { disableChallengeResourceVerification: true });
    const key = await client.createRsaKey(name, {
      keySize: options.keySize ?? 3072,
      tags: { 'cipherflow-org': options.org ?? ORG },
      ...(options.keyOps === undefined ? {} : { keyOps: options.keyOps }),
    });
    return key.id ?? '';
  }

  function configBody(org: string, name: string, keyVaultKeyIdentifier: string, overrides: Record<string, unknown> = {}) {
    return { name, type: 'BYOK_CONFIG', imsOrgId: org, configData: { providerType: 'AZURE_KEYVAULT', keyVaultKeyIdentifier }, ...overrides };
  }

  async function status(client: ApiClient, name: string): Promise<ConfigView> {
    return client.json<ConfigView>('GET', `${CONFIG}/${name}?configType=BYOK_CONFIG`);
  }

  async function waitForStatus(client: ApiClient, name: string, wanted: string, timeoutMs = 30_000): Promise<ConfigView> {
    return until(`${name} → ${wanted}`, async () => {
      const view = await status(client, name);
      return view.status === wanted ? view : undefined;
    }, timeoutMs);
  }

  async function orgRootKeys(org: string) {
    const out: { sandbox: string; kekVaultUrl: string; kekName: string; kekVersion: string }[] = [];
    for await (const e of rootKeys.listEntities<{ kekVaultUrl: string; kekName: string; kekVersion: string }>({ queryOptions: { filter: `PartitionKey eq '${org}'` } })) {
      out.push({ sandbox: e.rowKey ?? '', kekVaultUrl: e.kekVaultUrl, kekName: e.kekName, kekVersion: e.kekVersion });
    }
    return out;
  }

  it('answers the app registration with our multi-tenant app and its consent URL', async () => {
    const reg = await api.json<Record<string, string>>('GET', '/data/infrastructure/manager/byok/app-registration');
    expect(reg).toMatchObject({ id: 'byok', name: 'cipherflow-cmk-local', applicationId: '00000000-0000-4000-8000-00000000c3c3', applicationUri: 'https://localhost/cipherflow-cmk' });
    const consent = new URL(reg.applicationRedirectUrl ?? '');
    expect(consent.origin + consent.pathname).toBe('https://login.microsoftonline.com/common/oauth2/authorize');
    expect(consent.searchParams.get('client_id')).toBe(reg.applicationId);
    expect(consent.searchParams.get('redirect_uri')).toBe(reg.applicationUri);
  });

  it('refuses a config for another org, of another type or with a bad identifier with INVALID_REQUEST', async () => {
    const kid = `${customerVault.url}/keys/whatever`;
    const cases: [string, Record<string, unknown>, string][] = [
      ['org mismatch', configBody('OTHER0000@AdobeOrg', 'c1', kid), 'body.imsOrgId'],
      ['wrong type', configBody(ORG, 'c1', kid, { type: 'CMK_CONFIG' }), 'body.type'],
      ['wrong provider', configBody(ORG, 'c1', kid, { configData: { providerType: 'AWS_KMS', keyVaultKeyIdentifier: kid } }), 'body.configData.providerType'],
      ['http identifier', configBody(ORG, 'c1', kid.replace('https:', 'http:')), 'body.configData.keyVaultKeyIdentifier'],
      ['not a key URL', configBody(ORG, 'c1', `${customerVault.url}/secrets/whatever`), 'body.configData.keyVaultKeyIdentifier'],
      ['not a Key Vault host', configBody(ORG, 'c1', 'https://example.com/keys/whatever'), 'body.configData.keyVaultKeyIdentifier'],
    ];
    for (const [label, body, field] of cases) {
      const res = await api.request('POST', CONFIG, body);
      const problem = (await res.json()) as { code: string; errors?: { field: string }[] };
      expect(res.status, label).toBe(400);
      expect(problem.code, label).toBe('INVALID_REQUEST');
      expect(problem.errors?.map((e) => e.field), label).toContain(field);
    }
    const res = await api.request('GET', `${CONFIG}/c1?configType=OTHER`);
    expect(res.status).toBe(400);
  });

  it.each([
    ['KEY_TOO_SMALL', async (org: string) => customerKey('small-key', { keySize: 2048, org })],
    ['KEY_OPERATIONS_MISSING', async (org: string) => customerKey('no-wrap-key', { keyOps: ['encrypt', 'decrypt'], org })],
    ['PURGE_PROTECTION_DISABLED', async (org: string) => customerKey('purgeable-key', { vault: unprotectedVault, org })],
    ['KEY_ACCESS_DENIED', async (org: string) => {
      const kid = await customerKey('no-role-key', { org });
      await customerVault.revokeAccess(appPrincipal, 'no-role-key');
      return kid;
    }],
    ['KEY_NOT_FOUND', () => Promise.resolve(`${customerVault.url}/keys/never-created`)],
    ['KEY_DISABLED', async (org: string) => {
      const kid = await customerKey('disabled-key', { org });
      await customerKeys.updateKeyProperties('disabled-key', { enabled: false });
      return kid;
    }],
  ])('drives a config with an unusable key to FAILED with %s', async (code, makeKey) => {
    const org = `CF00F${code.length}${code.slice(4, 8).replace('_', 'X')}@AdobeOrg`;
    const client = new ApiClient(runtime.url, org);
    const created = await client.json<{ status: string; config: { status: string } }>('POST', CONFIG, configBody(org, 'failing', await makeKey(org)));
    expect(created).toMatchObject({ status: 'CREATED', config: { status: 'NEW' } });
    const failed = await waitForStatus(client, 'failing', 'FAILED');
    expect(Object.keys(failed.failure ?? {}).sort()).toEqual(['code', 'message']);
    expect(failed.failure?.code).toBe(code);
    expect(failed.failure?.message).toMatch(/\S/);
    expect(failed.history.map((h) => h.status)).toEqual(['NEW', 'RUNNING', 'FAILED']);
    expect(failed.history.at(-1)?.code).toBe(code);
    expectIsoHistory(failed);
    // A config that never took effect can be deleted.
    expect((await client.request('DELETE', `${CONFIG}/failing?configType=BYOK_CONFIG`)).status).toBe(204);
  });

  describe('an org moved to its customer key', () => {
    let flowId: string;
    let firstRun: Run;
    let keyName: string;
    let publicKeyId: string;

    async function exported(run: Run): Promise<Response> {
      const files = await api.json<{ data: { dataSetFileId: string }[] }>('GET', `/data/foundation/export/batches/${run.batchId ?? ''}/files`);
      return api.request('GET', `/data/foundation/export/files/${files.data[0]?.dataSetFileId ?? ''}`);
    }

    async function land(path: string): Promise<string> {
      const uploaded = await landing.getBlockBlobClient(path).uploadData(await gpg.encrypt(CSV, 'cmk ingestion key'));
      return uploaded.etag ?? '';
    }

    beforeAll(async () => {
      const key = await api.json<{ publicKey: string; publicKeyId: string }>('POST', '/data/foundation/connectors/encryption/keys', {
        name: 'cmk ingestion key',
        encryptionAlgorithm: 'PGP',
        params: { passPhrase: 'a passphrase the customer chose' },
      });
      publicKeyId = key.publicKeyId;
      await gpg.importKey(Buffer.from(key.publicKey, 'base64').toString('utf8'));
      const [dataSetRef] = await api.json<string[]>('POST', '/data/foundation/catalog/dataSets', { name: 'cmk customers' });
      const target = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/targetConnections', { name: 't', params: { dataSetId: dataSetRef?.split('/')[2] ?? '' } });
      const source = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/sourceConnections', { name: 's', data: { format: 'delimited' }, params: { path: '/cmk/*.csv.gpg' } });
      flowId = (await api.json<{ id: string }>('POST', '/data/foundation/flowservice/flows', {
        name: 'cmk flow',
        sourceConnectionIds: [source.id],
        targetConnectionIds: [target.id],
        transformations: [{ name: 'Encryption', params: { publicKeyId } }],
        scheduleParams: { startTime: '1700000000', frequency: 'once' },
      })).id;
      // Data ingested under the system KEK, before the CMK.
      firstRun = await waitForRun(api, flowId, 'cmk/before.csv.gpg', { etag: await land('cmk/before.csv.gpg') });
      expect(firstRun.status).toBe('success');
      expect((await orgRootKeys(ORG)).every((r) => r.kekVaultUrl === stack.vault.url)).toBe(true);
    });

    it('drives a good key NEW → COMPLETED; old data and PGP keys stay readable, root keys wrapped by the customer key', async () => {
      keyName = 'org-cmk';
      const kid = await customerKey(keyName);
      const version = kid.split('/').at(-1);
      const created = await api.json<{ id: string; config: { configData: ConfigView['configData'] } }>('POST', CONFIG, configBody(ORG, 'Config1', kid));
      // Adobe's documented answer, field for field.
      const configData = { keyVaultUri: customerVault.url, keyVaultKeyIdentifier: kid, keyVersion: version, keyName, providerType: 'AZURE_KEYVAULT' };
      expect(created.id).toMatch(UUID);
      expect(created).toEqual({
        id: created.id,
        config: { configData, name: 'Config1', type: 'BYOK_CONFIG', imsOrgId: ORG, status: 'NEW' },
        status: 'CREATED',
      });
      const done = await waitForStatus(api, 'Config1', 'COMPLETED');
      expect(done).toMatchObject({ id: created.id, name: 'Config1', type: 'BYOK_CONFIG', imsOrgId: ORG, rowType: 'BYOK_KEY', status: 'COMPLETED', configData });
      expect(done.failure).toBeUndefined();
      expect(done.history.map((h) => h.status)).toEqual(['NEW', 'RUNNING', 'UPDATE_EXISTING_RESOURCES', 'COMPLETED']);
      expectIsoHistory(done);
      expect(done.activeKeyVersion).toBe(version);

      const records = await orgRootKeys(ORG);
      expect(records.length).toBeGreaterThan(0);
      for (const r of records) expect(r).toMatchObject({ kekVaultUrl: customerVault.url, kekName: keyName, kekVersion: done.activeKeyVersion });
      expect(done.progress.sandboxesRewrapped).toBe(records.length);

      // After the TTL, reads unwrap at the customer's vault.
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      customerVault.resetRequestCounts();
      const res = await exported(firstRun);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(CSV)).toBe(true);
      expect(customerVault.requestCounts().unwrapKey ?? 0).toBeGreaterThan(0);
      // The PGP private key (stored under the hierarchy) still decrypts a new file.
      const run = await waitForRun(api, flowId, 'cmk/after.csv.gpg', { etag: await land('cmk/after.csv.gpg') });
      expect(run.status).toBe('success');
      expect((await api.request('GET', `/data/foundation/connectors/encryption/keys/${publicKeyId}`)).status).toBe(200);
    });

    it('refuses to take the org back to system-managed keys with CMK_IRREVERSIBLE', async () => {
      const res = await api.request('DELETE', `${CONFIG}/Config1?configType=BYOK_CONFIG`);
      expect(res.status).toBe(409);
      expect(((await res.json()) as { code: string }).code).toBe('CMK_IRREVERSIBLE');
    });

    it('fails closed with CMK_ACCESS_REVOKED within the TTL when access is revoked, parks new files, and resumes them once restored', async () => {
      await customerVault.revokeAccess(appPrincipal, keyName);
      const revokedAt = Date.now();
      const refused = await until('reads refused', async () => {
        const res = await exported(firstRun).catch(() => undefined);
        if (res === undefined || res.status === 200) return undefined;
        return { status: res.status, body: (await res.json()) as { code: string } };
      }, 10_000);
      expect(Date.now() - revokedAt).toBeLessThan(2_000 + 2_500);
      expect(refused).toMatchObject({ status: 403, body: { code: 'CMK_ACCESS_REVOKED' } });
      const view = await waitForStatus(api, 'Config1', 'KEY_ACCESS_REVOKED');
      expect(view.failure?.code).toBe('KEY_ACCESS_DENIED');

      const etag = await land('cmk/while-revoked.csv.gpg');
      await runtime.waitForLine((e) => typeof e.message === 'string' && e.message.includes('ingestion-waiting') && e.message.includes('cmk-access-revoked'));
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const { items } = await api.json<{ items: Run[] }>('GET', `/data/foundation/flowservice/runs?property=flowId==${flowId}`).catch(() => ({ items: [] as Run[] }));
      expect(items.filter((r) => r.fileName === 'cmk/while-revoked.csv.gpg' && r.status !== 'inProgress')).toHaveLength(0);
      expect(await landing.getBlobClient('cmk/while-revoked.csv.gpg').exists()).toBe(true);

      await customerVault.restoreAccess(appPrincipal, keyName);
      await waitForStatus(api, 'Config1', 'COMPLETED');
      const run = await waitForRun(api, flowId, 'cmk/while-revoked.csv.gpg', { etag, timeoutMs: 30_000 });
      expect(run.status).toBe('success');
      const res = await exported(run);
      expect(Buffer.from(await res.arrayBuffer()).equals(CSV)).toBe(true);
      expect((await exported(firstRun)).status).toBe(200);
    });

    it('follows a customer key rotation within a cycle', async () => {
      // A new version starts with the tags it is created with: the owner tags it too.
      const rotated = await customerKeys.createRsaKey(keyName, { keySize: 3072, tags: { 'cipherflow-org': ORG } });
      const version = rotated.properties.version ?? '';
      const view = await until('rotation followed', async () => {
        const v = await status(api, 'Config1');
        return v.activeKeyVersion === version ? v : undefined;
      });
      expect(view.history.at(-1)).toMatchObject({ event: 'KEY_ROTATED' });
      for (const r of await orgRootKeys(ORG)) expect(r.kekVersion).toBe(version);
      expect((await exported(firstRun)).status).toBe(200);
    });
  });

  it('resumes UPDATE_EXISTING_RESOURCES after a crash, re-wrapping each sandbox exactly once', async () => {
    const org = 'CF00CRASH0@AdobeOrg';
    const sandboxes = ['sb-a', 'sb-b', 'sb-c', 'sb-d', 'sb-e'];
    for (const sandbox of sandboxes) {
      await ensureSandbox(runtime.url, org, sandbox);
      await new ApiClient(runtime.url, org, sandbox).json('POST', '/data/foundation/connectors/encryption/keys', {
        name: `k ${sandbox}`,
        encryptionAlgorithm: 'PGP',
        params: { passPhrase: 'a passphrase the customer chose' },
      });
    }
    expect(await orgRootKeys(org)).toHaveLength(sandboxes.length);
    const kid = await customerKey('crash-cmk', { org });
    await runtime.stop();

    customerVault.resetRequestCounts();
    const crashing = await startRuntime({ ...runtimeEnv, CIPHERFLOW_KILL_AT: 'cmk-sandbox-rewrapped:2' });
    const client = new ApiClient(crashing.url, org);
    await client.json('POST', CONFIG, configBody(org, 'crash', kid));
    await new Promise<void>((resolve) => {
      if (crashing.child.exitCode !== null || crashing.child.signalCode !== null) resolve();
      else crashing.child.once('exit', () => resolve());
    });
    const crashedWraps = customerVault.requestCounts({ reset: true }).wrapKey ?? 0;
    expect(crashedWraps).toBe(1 + 2); // the validation round trip, then two sandboxes

    runtime = await startRuntime(runtimeEnv);
    api = new ApiClient(runtime.url, ORG);
    const resumed = new ApiClient(runtime.url, org);
    const done = await waitForStatus(resumed, 'crash', 'COMPLETED', 60_000);
    expect(done.history.map((h) => h.status)).toEqual(['NEW', 'RUNNING', 'UPDATE_EXISTING_RESOURCES', 'COMPLETED']);
    expect(customerVault.requestCounts().wrapKey ?? 0).toBe(sandboxes.length - 2);
    for (const r of await orgRootKeys(org)) expect(r).toMatchObject({ kekVaultUrl: customerVault.url, kekName: 'crash-cmk' });
  });
});
