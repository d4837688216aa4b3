import { ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevTls } from '../../local/dev-tls.js';
import { startKeyVaultEmulator, type KeyVaultEmulator } from '../../local/keyvault-emulator/index.js';
import { createHpkeFetch, encryptRequest, generateClientKeyPair, type ServerKeyInfo } from '../../shared/hpke/client.js';
import { DEV_CLIENT_ID } from '../../shared/config/defaults.js';
import type { LandingZoneCredential } from '../support/api-client.js';
import { ensureGpg, GpgHome } from '../support/gpg.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { craftToken, foreignKey, issueDevToken } from '../support/tokens.js';

const ORG = 'CF0003CCCC@AdobeOrg';
const PASSPHRASE = 'correct-horse-battery-staple-7d1f';
const PLAINTEXT = 'SSN 078-05-1120 plaintext-marker-91c2';
const KEY_PASSPHRASE = 'pgp-key-passphrase-e41b-never-logged';
const FILE_MARKER = 'file-plaintext-marker-5e8a';
const CSV = Buffer.from(`id,secret\n1,${FILE_MARKER}\n2,card 4111111111111111\n`);
const HPKE_MARKER = 'hpke-plaintext-marker-3b7f';
const CONFIG = '/data/infrastructure/manager/customer/config';

interface Run {
  status: string;
  fileName: string;
  blobETag: string;
  batchId?: string;
}

/** Polls `probe` until it yields a value (a minute at most). */
async function until<T>(probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Drives the whole API through the local runtime with known secrets (tokens, a PGP key passphrase,
 * private keys, file plaintext, HPKE request plaintext) in every place a request can carry them,
 * then scans every line the runtime printed on stdout and stderr.
 */
describe('secrets never reach the logs', () => {
  let stack: LocalStack;
  /** The customer's own Key Vault: keys of the system KEK's vault are refused as CMK (CMK_KEY_NOT_OWNED). */
  let customerVault: KeyVaultEmulator;
  let runtime: RuntimeProcess;
  let gpg: GpgHome;
  beforeAll(async () => {
    ensureGpg();
    stack = await startLocalStack();
    customerVault = await startKeyVaultEmulator({ port: 0, tls: await ensureDevTls(), tokenAuthority: stack.vault.tokenAuthority });
    runtime = await startRuntime({ ...stack.env, CIPHERFLOW_QUEUE_MAX_POLL_MS: '200' });
    gpg = await GpgHome.create();
  });
  afterAll(async () => {
    await runtime?.stop();
    await customerVault?.close();
    await stack?.stop();
    await gpg?.dispose();
  });

  it('logs none of the tokens, passphrases, private keys, landing-zone SAS or payloads of a whole API session', async () => {
    const token = await issueDevToken({ org: ORG });
    const forged = await craftToken({ org: ORG, key: foreignKey() });
    const tokens = [token, forged];
    const requestIds: string[] = [];
    const statuses: number[] = [];
    const auth = { authorization: `Bearer ${token}`, 'x-api-key': DEV_CLIENT_ID, 'x-gw-ims-org-id': ORG };

    /** Every call goes through here, so its request id is known and checked in the log below. */
    const seen = (res: Response): Response => {
      const id = res.headers.get('x-request-id');
      if (id === null) throw new Error(`no x-request-id on a ${res.status} answer`);
      requestIds.push(id);
      statuses.push(res.status);
      return res;
    };
    const send = async (method: string, path: string, body?: unknown, headers: Record<string, string> = auth) => {
      const init = body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) };
      const ct: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
      return seen(await fetch(`${runtime.url}${path}`, { method, headers: { ...ct, ...headers }, ...init }));
    };
    const json = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const res = await send(method, path, body);
      const text = await res.text();
      if (res.status !== 200 && res.status !== 201) throw new Error(`${method} ${path} → ${res.status}: ${text}`);
      return JSON.parse(text) as T;
    };

    // Good and bad requests carrying a passphrase and plaintext in their bodies, headers and query.
    const bodies = [
      JSON.stringify({ name: 'ok', description: PLAINTEXT }),
      JSON.stringify({ name: 'x', params: { passPhrase: PASSPHRASE } }),
      JSON.stringify({ name: PASSPHRASE, passPhrase: PASSPHRASE }),
      `{"name": "${PLAINTEXT}"`,
      JSON.stringify({ name: 7, description: PLAINTEXT }),
    ];
    const basic = `Basic ${Buffer.from(`u:${PASSPHRASE}`).toString('base64')}`;
    for (const authorization of [`Bearer ${token}`, `Bearer ${forged}`, basic]) {
      for (const body of bodies) await (await send('POST', '/data/foundation/catalog/dataSets', body, { ...auth, authorization })).arrayBuffer();
      await (await send('GET', `/data/foundation/catalog/dataSets/${'0'.repeat(24)}?passPhrase=${PASSPHRASE}`, undefined, { ...auth, authorization })).arrayBuffer();
    }
    await (await send('GET', '/data/foundation/catalog/dataSets', undefined, { ...auth, 'x-api-key': PASSPHRASE })).arrayBuffer();

    // A PGP key pair protected by a known passphrase; its public half goes to the customer's gpg.
    const key = await json<{ publicKey: string; publicKeyId: string }>('POST', '/data/foundation/connectors/encryption/keys', {
      name: 'scan key',
      encryptionAlgorithm: 'PGP',
      params: { passPhrase: KEY_PASSPHRASE },
    });
    await gpg.importKey(Buffer.from(key.publicKey, 'base64').toString('utf8'));
    await (await send('POST', '/data/foundation/connectors/encryption/keys', { encryptionAlgorithm: 'PGP', params: { passPhrase: KEY_PASSPHRASE, extra: PLAINTEXT } })).arrayBuffer();

    // The customer's signing key, registered; then its private half, which must be refused.
    await gpg.generateKey('Customer <customer@example.com>', 'ed25519', 'sign', '1y');
    const customer = await json<{ publicKeyId: string }>('POST', '/data/foundation/connectors/encryption/customer-keys', {
      encryptionAlgorithm: 'PGP',
      publicKey: Buffer.from(await gpg.exportPublic('customer@example.com')).toString('base64'),
    });
    const secretKey = await gpg.exportSecret('customer@example.com');
    expect(secretKey).toContain('PRIVATE KEY');
    const refused = await send('POST', '/data/foundation/connectors/encryption/customer-keys', { encryptionAlgorithm: 'PGP', publicKey: Buffer.from(secretKey).toString('base64') });
    expect(((await refused.json()) as { code: string }).code).toBe('PRIVATE_KEY_NOT_ALLOWED');

    // A flow, and a signed gpg file whose plaintext carries a marker, landed in the zone on the SAS
    // the API issued and ingested by the queue trigger.
    const [dataSetRef] = await json<string[]>('POST', '/data/foundation/catalog/dataSets', { name: 'scanned' });
    const target = await json<{ id: string }>('POST', '/data/foundation/flowservice/targetConnections', { name: 't', params: { dataSetId: dataSetRef?.split('/')[2] ?? '' } });
    const source = await json<{ id: string }>('POST', '/data/foundation/flowservice/sourceConnections', { name: 's', data: { format: 'delimited' }, params: { path: '/incoming/*.csv.gpg' } });
    const flow = await json<{ id: string }>('POST', '/data/foundation/flowservice/flows', {
      name: 'scan flow',
      sourceConnectionIds: [source.id],
      targetConnectionIds: [target.id],
      transformations: [{ name: 'Encryption', params: { publicKeyId: key.publicKeyId, signVerificationKeyId: customer.publicKeyId } }],
      scheduleParams: { startTime: '1700000000', frequency: 'once' },
    });
    const credential = await json<LandingZoneCredential>('GET', '/data/foundation/connectors/landingzone/credentials?type=user_drop_zone');
    const landing = new ContainerClient(credential.SASUri);
    const encrypted = await gpg.encrypt(CSV, 'scan key', ['--sign', '--local-user', 'customer@example.com']);
    const etag = (await landing.getBlockBlobClient('incoming/secret.csv.gpg').uploadData(encrypted)).etag ?? '';
    const run = await until(async () => {
      const { items } = await json<{ items: Run[] }>('GET', `/data/foundation/flowservice/runs?property=flowId==${flow.id}`);
      return items.find((r) => r.fileName === 'incoming/secret.csv.gpg' && r.blobETag === etag && r.status !== 'inProgress');
    });
    expect(run.status).toBe('success');
    // The plaintext really went through the app: the export serves it back.
    const files = await json<{ data: { dataSetFileId: string }[] }>('GET', `/data/foundation/export/batches/${run.batchId ?? ''}/files`);
    const exported = await send('GET', `/data/foundation/export/files/${files.data[0]?.dataSetFileId ?? ''}`);
    expect(Buffer.from(await exported.arrayBuffer()).equals(CSV)).toBe(true);
    // The zone's listing, and a refresh that issues a second SAS.
    await json('GET', `/data/foundation/flowservice/connectionSpecs/26f526f2-58f4-4712-961d-e41bf1ccc0e8/explore?objectType=folder&object=${credential.containerName}/incoming/`);
    const refreshed = await json<LandingZoneCredential>('POST', '/data/foundation/connectors/landingzone/credentials?type=user_drop_zone&action=refresh');
    expect(refreshed.SASToken).not.toBe(credential.SASToken);

    // HPKE: an encrypted request, and an encrypted round trip whose response carries the plaintext too.
    const keys = await send('GET', '/api-encryption/keys');
    const serverKey = ((await keys.json()) as { keys: ServerKeyInfo[] }).keys.find((k) => k.status === 'active');
    if (serverKey === undefined) throw new Error('no active HPKE key');
    const clientKey = await generateClientKeyPair(1);
    await json('PUT', '/api-encryption/client-keys/1', { kemId: 32, publicKey: Buffer.from(clientKey.publicKey).toString('base64url') });
    const hpkeBody = { name: 'sealed', description: HPKE_MARKER };
    const sealed = await encryptRequest({ serverKey, method: 'POST', url: `${runtime.url}/data/foundation/catalog/dataSets`, body: Buffer.from(JSON.stringify(hpkeBody)), org: ORG, sandbox: 'prod' });
    const created = seen(await fetch(`${runtime.url}/data/foundation/catalog/dataSets`, { method: 'POST', headers: { ...auth, ...sealed.headers }, body: sealed.body }));
    expect(created.status).toBe(201);
    const [sealedRef] = (await created.json()) as string[];
    const hpkeFetch = createHpkeFetch({ serverKey: () => Promise.resolve(serverKey), clientKey });
    const read = seen(await hpkeFetch(`${runtime.url}/data/foundation/catalog/dataSets/${sealedRef?.split('/')[2] ?? ''}`, { headers: auth }));
    expect(JSON.stringify(await read.json())).toContain(HPKE_MARKER);
    // A replay of the same sealed request, refused after decryption.
    const replay = seen(await fetch(`${runtime.url}/data/foundation/catalog/dataSets`, { method: 'POST', headers: { ...auth, ...sealed.headers }, body: sealed.body }));
    expect(((await replay.json()) as { code: string }).code).toBe('HPKE_REPLAY');

    // Customer-managed key configuration: a config that names a key, read back, and a refused one.
    const kid = `${customerVault.url}/keys/scan-cmk-never-created`;
    const byok = { name: 'scan-cmk', type: 'BYOK_CONFIG', imsOrgId: ORG, configData: { providerType: 'AZURE_KEYVAULT', keyVaultKeyIdentifier: kid } };
    await json('POST', CONFIG, byok);
    await json('GET', `${CONFIG}/scan-cmk?configType=BYOK_CONFIG`);
    await (await send('POST', CONFIG, { ...byok, name: 'scan-cmk-2', configData: { ...byok.configData, keyVaultKeyIdentifier: `${kid}?passPhrase=${PASSPHRASE}` } })).arrayBuffer();

    // Requests were served and refused in many ways.
    expect(statuses).toEqual(expect.arrayContaining([200, 201, 400, 401, 404]));
    const last = requestIds.at(-1);
    await runtime.waitForLine((e) => e.msg === 'request completed' && e.requestId === last);

    // The scan reads what the runtime really printed: every request is in it by its id.
    expect(runtime.lines.length).toBeGreaterThan(requestIds.length);
    const log = runtime.lines.join('\n');
    const missing = requestIds.filter((id) => !log.includes(id));
    expect(missing, 'request ids absent from the captured log').toEqual([]);
    expect(log).toContain('incoming/secret.csv.gpg');

    const secrets = [
      ...tokens,
      ...tokens.map((t) => t.split('.')[2] ?? t),
      PASSPHRASE,
      KEY_PASSPHRASE,
      'PRIVATE KEY',
      PLAINTEXT,
      'plaintext-marker-91c2',
      FILE_MARKER,
      '4111111111111111',
      HPKE_MARKER,
      // A SAS's signature, as it travels (percent-encoded) and decoded.
      ...[credential, refreshed].flatMap((c) => [c.SASToken, /(?:^|[?&])sig=([^&]+)/.exec(c.SASToken)?.[1] ?? c.SASToken, new URLSearchParams(c.SASToken).get('sig') ?? c.SASToken]),
    ];
    for (const secret of secrets) {
      expect(log.includes(secret), `a log line contains ${secret.slice(0, 12)}…`).toBe(false);
    }
  });
});
