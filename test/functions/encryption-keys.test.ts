import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../shared/auth/tenant.js';
import { appServices } from '../../shared/app/root.js';
import { ingestLandedBlob } from '../../shared/ingestion/ingest-landed-file.js';
import { getEncryptionKey, listEncryptionKeys } from '../../shared/pgp-keys/encryption-keys.js';
import { pgpKeyDeps } from '../../shared/app/pgp-key-deps.js';
import { ApiClient, ensureSandbox, landingZone, waitForRun } from '../support/api-client.js';
import { GpgHome } from '../support/gpg.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';

const ORG = 'CF0008EEEE@AdobeOrg';
const KEYS = '/data/foundation/connectors/encryption/keys';
const CUSTOMER_KEYS = '/data/foundation/connectors/encryption/customer-keys';
const PASSPHRASE = 'correct horse battery staple 8d1f';
const DAY = 86_400;

interface Created {
  publicKey: string;
  publicKeyId: string;
  expiryTime: string;
}
interface Listed {
  name: string;
  encryptionAlgorithm: string;
  publicKeyId: string;
  publicKey: string;
  keyType: string;
  expiryTime: string;
  status: string;
}
interface Problem {
  status: number;
  code: string;
  errors?: { field: string; message: string }[];
}

/**
 * The key endpoints end to end against the compiled app: generation (and what gpg sees in the
 * key), listing, validation, deletion, customer key registration and its refusals, request
 * validation, sandbox isolation, and that no secret ever appears in a response.
 */
describe('encryption key endpoints', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let prod: ApiClient;
  let dev: ApiClient;
  let gpg: GpgHome;
  /** Every response body seen, checked for secrets at the end. */
  const bodies: string[] = [];

  beforeAll(async () => {
    gpg = await GpgHome.create();
    stack = await startLocalStack();
    runtime = await startRuntime({
      ...stack.env,
      CIPHERFLOW_QUEUE_MAX_POLL_MS: '200',
    });
    prod = new ApiClient(runtime.url, ORG, 'prod');
    await ensureSandbox(runtime.url, ORG, 'dev');
    dev = new ApiClient(runtime.url, ORG, 'dev');
  });

  afterAll(async () => {
    await runtime?.stop();
    await stack?.stop();
    await gpg?.dispose();
  });

  async function call(
    api: ApiClient,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown }> {
    const res = await api.request(method, path, body);
    const text = await res.text();
    bodies.push(text);
    return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
  }
  async function ok<T>(api: ApiClient, method: string, path: string, body?: unknown): Promise<T> {
    const { status, json } = await call(api, method, path, body);
    expect(status, JSON.stringify(json)).toBe(200);
    return json as T;
  }
  async function problem(api: ApiClient, method: string, path: string, body?: unknown): Promise<Problem> {
    const { json } = await call(api, method, path, body);
    return json as Problem;
  }
  const create = (params: Record<string, unknown>, extra: Record<string, unknown> = {}, api = prod) =>
    ok<Created>(api, 'POST', KEYS, {
      encryptionAlgorithm: 'PGP',
      params: { passPhrase: PASSPHRASE, ...params },
      ...extra,
    });
  const armorOf = (base64: string) => Buffer.from(base64, 'base64').toString('utf8');

  /** gpg's view of an imported key: `pub`/`sub` records of `--with-colons --list-keys`. */
  async function gpgRecords(armored: string): Promise<string[][]> {
    const home = await GpgHome.create();
    try {
      await home.importKey(armored);
      return (await home.ok(['--with-colons', '--list-keys']))
        .toString('utf8')
        .split('\n')
        .filter((l) => /^(pub|sub):/.test(l))
        .map((l) => l.split(':'));
    } finally {
      await home.dispose();
    }
  }

  it('creates a Curve25519 key expiring in 180 days, and the OpenPGP key itself carries that expiry', async () => {
    const before = Math.floor(Date.now() / 1000);
    const key = await create({}, { name: 'default key' });
    expect(Object.keys(key).sort()).toEqual(['expiryTime', 'publicKey', 'publicKeyId']);
    expect(key.publicKeyId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(key.expiryTime).toMatch(/^\d+$/);
    expect(Number(key.expiryTime)).toBeGreaterThanOrEqual(before + 180 * DAY);
    expect(Number(key.expiryTime)).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 180 * DAY);
    const armored = armorOf(key.publicKey);
    expect(armored).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    const [pub, sub] = await gpgRecords(armored);
    // Field 4: algorithm (22 EdDSA, 18 ECDH); field 7: expiry (Unix seconds); field 12: capabilities.
    expect(pub?.[3]).toBe('22');
    expect(sub?.[3]).toBe('18');
    expect(pub?.[6]).toBe(key.expiryTime);
    expect(sub?.[6]).toBe(key.expiryTime);
    expect(sub?.[11]).toContain('e');
  });

  it('creates a key with expiryDays: 1 that is Active, and honours expiryDays in the key', async () => {
    const key = await create({ expiryDays: 1 });
    const [pub] = await gpgRecords(armorOf(key.publicKey));
    expect(Number(pub?.[6])).toBe(Number(key.expiryTime));
    expect(Number(key.expiryTime) - Date.now() / 1000).toBeGreaterThan(DAY - 120);
    expect(Number(key.expiryTime) - Date.now() / 1000).toBeLessThanOrEqual(DAY);
    expect(await ok(prod, 'GET', `${KEYS}/validate/${key.publicKeyId}`)).toEqual({
      publicKeyId: key.publicKeyId,
      status: 'Active',
    });
  });

  it('creates an RSA-4096 key for keyType RSA (GPG algorithm name accepted)', async () => {
    const key = await create({ keyType: 'RSA', expiryDays: 30 }, { encryptionAlgorithm: 'GPG' });
    const [pub, sub] = await gpgRecords(armorOf(key.publicKey));
    expect([pub?.[3], pub?.[2]]).toEqual(['1', '4096']);
    expect([sub?.[3], sub?.[2]]).toEqual(['1', '4096']);
    const got = await ok<Listed>(prod, 'GET', `${KEYS}/${key.publicKeyId}`);
    expect(got).toMatchObject({
      keyType: 'RSA',
      encryptionAlgorithm: 'GPG',
      status: 'Active',
      expiryTime: key.expiryTime,
    });
  });

  it('lists several active keys with their public parts, and gets each by id', async () => {
    const a = await create({}, { name: 'rotation a' });
    const b = await create({}, { name: 'rotation b' });
    const listed = await ok<Listed[]>(prod, 'GET', KEYS);
    for (const key of [a, b]) {
      const entry = listed.find((k) => k.publicKeyId === key.publicKeyId);
      expect(entry).toMatchObject({
        encryptionAlgorithm: 'PGP',
        publicKeyId: key.publicKeyId,
        publicKey: key.publicKey,
        keyType: 'Curve25519',
        expiryTime: key.expiryTime,
        status: 'Active',
      });
      expect(Object.keys(entry ?? {})).toEqual(
        expect.arrayContaining([
          'name',
          'encryptionAlgorithm',
          'publicKeyId',
          'publicKey',
          'keyType',
          'expiryTime',
          'status',
        ]),
      );
      expect(await ok(prod, 'GET', `${KEYS}/${key.publicKeyId}`)).toEqual(entry);
    }
    expect(listed.find((k) => k.publicKeyId === a.publicKeyId)?.name).toBe('rotation a');
    expect(listed.filter((k) => k.status === 'Active').length).toBeGreaterThanOrEqual(2);
  });

  it('deletes a key (204, then 404) and refuses a key an active flow uses with 409 KEY_IN_USE', async () => {
    const spare = await create({});
    const deleted = await call(prod, 'DELETE', `${KEYS}/${spare.publicKeyId}`);
    expect(deleted.status).toBe(204);
    expect((await problem(prod, 'GET', `${KEYS}/${spare.publicKeyId}`)).code).toBe('NOT_FOUND');
    expect((await ok<Listed[]>(prod, 'GET', KEYS)).some((k) => k.publicKeyId === spare.publicKeyId)).toBe(false);
    expect((await problem(prod, 'DELETE', `${KEYS}/${spare.publicKeyId}`)).code).toBe('NOT_FOUND');

    const used = await create({});
    const flowId = await newFlow(used.publicKeyId, 'in-use');
    const refused = await problem(prod, 'DELETE', `${KEYS}/${used.publicKeyId}`);
    expect(refused).toMatchObject({ status: 409, code: 'KEY_IN_USE' });
    expect(await ok(prod, 'GET', `${KEYS}/validate/${used.publicKeyId}`)).toMatchObject({ status: 'Active' });
    // Once the flow is gone, the key can go.
    expect((await call(prod, 'DELETE', `/data/foundation/flowservice/flows/${flowId}`)).status).toBeLessThan(300);
    expect((await call(prod, 'DELETE', `${KEYS}/${used.publicKeyId}`)).status).toBe(204);
  });

  async function newFlow(publicKeyId: string, folder: string): Promise<string> {
    const [dataSetRef] = await prod.json<string[]>('POST', '/data/foundation/catalog/dataSets', {
      name: `keys ${folder}`,
    });
    const dataSetId = dataSetRef?.split('/')[2] ?? '';
    const target = await prod.json<{ id: string }>('POST', '/data/foundation/flowservice/targetConnections', {
      name: `to ${folder}`,
      params: { dataSetId },
    });
    const source = await prod.json<{ id: string }>('POST', '/data/foundation/flowservice/sourceConnections', {
      name: `landing ${folder}`,
      data: { format: 'delimited' },
      params: { path: `/${folder}/*.csv.gpg` },
    });
    const flow = await prod.json<{ id: string }>('POST', '/data/foundation/flowservice/flows', {
      name: `flow ${folder}`,
      sourceConnectionIds: [source.id],
      targetConnectionIds: [target.id],
      transformations: [{ name: 'Encryption', params: { publicKeyId } }],
    });
    return flow.id;
  }

  it('reports Expired once the key has expired (domain functions with a clock past the expiry)', async () => {
    Object.assign(process.env, stack.env);
    const services = await appServices();
    const key = await create({ expiryDays: 1 });
    const tenant: Tenant = { orgId: ORG, sandbox: 'prod', clientId: 'test', subject: 'test' };
    const at = (seconds: number) => ({ now: () => seconds * 1000 });
    const deps = pgpKeyDeps(services);
    expect(
      (await getEncryptionKey({ ...deps, clock: at(Number(key.expiryTime) - 1) }, tenant, key.publicKeyId)).status,
    ).toBe('Active');
    expect(
      (await getEncryptionKey({ ...deps, clock: at(Number(key.expiryTime)) }, tenant, key.publicKeyId)).status,
    ).toBe('Expired');
    const later = await listEncryptionKeys({ ...deps, clock: at(Number(key.expiryTime) + DAY) }, tenant);
    expect(later.find((k) => k.publicKeyId === key.publicKeyId)?.status).toBe('Expired');
  });

  it('fails the ingestion of a file for an expired key with ENCRYPTION_KEY_EXPIRED (domain, clock past expiry)', async () => {
    Object.assign(process.env, stack.env);
    const services = await appServices();
    const key = await create({ expiryDays: 1 });
    const flowId = await newFlow(key.publicKeyId, 'expiring');
    await gpg.importKey(armorOf(key.publicKey));
    const fpr = (await gpg.ok(['--with-colons', '--list-keys']))
      .toString('utf8')
      .split('\n')
      .filter((l) => l.startsWith('fpr:'))
      .map((l) => l.split(':')[9] ?? '');
    const encrypted = await gpg.encrypt('id\n1\n', fpr.at(-1) ?? '');
    // Into the zone straight to Azurite (past the local Event Grid, so no event): only this call
    // ingests the blob.
    const { containerName } = await landingZone(prod);
    const { accountName, accountKey, blobEndpoint } = stack.azurite.landing;
    const direct = new BlobServiceClient(blobEndpoint, new StorageSharedKeyCredential(accountName, accountKey));
    const blob = direct.getContainerClient(containerName).getBlockBlobClient('expiring/late.csv.gpg');
    await blob.uploadData(encrypted);
    const clock = { now: () => (Number(key.expiryTime) + 60) * 1000 };
    const outcome = await ingestLandedBlob(
      { tables: services.tables, objects: services.objects, keys: { ...pgpKeyDeps(services), clock }, clock },
      { blob },
    );
    expect(outcome).toMatchObject({ kind: 'done', runs: [{ flowId, status: 'failed' }] });
    const run = await waitForRun(prod, flowId, 'expiring/late.csv.gpg');
    expect(run.errors[0]?.code).toBe('ENCRYPTION_KEY_EXPIRED');
    expect(run.batchId).toBeUndefined();
  });

  it.each([
    ['a missing passPhrase', { encryptionAlgorithm: 'PGP', params: {} }, 'body.params.passPhrase'],
    ['an empty passPhrase', { encryptionAlgorithm: 'PGP', params: { passPhrase: '' } }, 'body.params.passPhrase'],
    [
      'expiryDays 0',
      { encryptionAlgorithm: 'PGP', params: { passPhrase: PASSPHRASE, expiryDays: 0 } },
      'body.params.expiryDays',
    ],
    [
      'expiryDays 731',
      { encryptionAlgorithm: 'PGP', params: { passPhrase: PASSPHRASE, expiryDays: 731 } },
      'body.params.expiryDays',
    ],
    ['an unknown field', { encryptionAlgorithm: 'PGP', params: { passPhrase: PASSPHRASE }, owner: 'x' }, 'body.owner'],
    [
      'an unknown params field',
      { encryptionAlgorithm: 'PGP', params: { passPhrase: PASSPHRASE, curve: 'x' } },
      'body.params.curve',
    ],
    [
      'encryptionAlgorithm AES',
      { encryptionAlgorithm: 'AES', params: { passPhrase: PASSPHRASE } },
      'body.encryptionAlgorithm',
    ],
    [
      'keyType DSA',
      { encryptionAlgorithm: 'PGP', params: { passPhrase: PASSPHRASE, keyType: 'DSA' } },
      'body.params.keyType',
    ],
  ])('refuses a create with %s: 400 INVALID_REQUEST naming the field', async (_label, body, field) => {
    const refused = await problem(prod, 'POST', KEYS, body);
    expect(refused).toMatchObject({ status: 400, code: 'INVALID_REQUEST' });
    expect(refused.errors?.map((e) => e.field)).toContain(field);
  });

  it('keeps keys in their sandbox: a dev key is 404 and unlisted from prod', async () => {
    const key = await create({}, { name: 'dev only' }, dev);
    expect((await ok<Listed[]>(dev, 'GET', KEYS)).map((k) => k.publicKeyId)).toContain(key.publicKeyId);
    expect((await ok<Listed[]>(prod, 'GET', KEYS)).map((k) => k.publicKeyId)).not.toContain(key.publicKeyId);
    for (const [method, path] of [
      ['GET', `${KEYS}/${key.publicKeyId}`],
      ['GET', `${KEYS}/validate/${key.publicKeyId}`],
      ['DELETE', `${KEYS}/${key.publicKeyId}`],
    ] as const) {
      expect(await problem(prod, method, path), `${method} ${path}`).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    }
    expect(await ok(dev, 'GET', `${KEYS}/validate/${key.publicKeyId}`)).toMatchObject({ status: 'Active' });
  });

  describe('customer keys', () => {
    const register = (api: ApiClient, armored: string, name?: string) =>
      call(api, 'POST', CUSTOMER_KEYS, {
        ...(name === undefined ? {} : { name }),
        encryptionAlgorithm: 'PGP',
        publicKey: Buffer.from(armored).toString('base64'),
      });

    it('registers a gpg signing key and lists it', async () => {
      await gpg.generateKey('Customer <customer@example.com>', 'ed25519', 'sign', '1y');
      const registered = await register(prod, await gpg.exportPublic('customer@example.com'), 'ACME signing key 2025');
      expect(registered.status).toBe(200);
      const { publicKeyId } = registered.json as { publicKeyId: string };
      expect(Object.keys(registered.json as object)).toEqual(['publicKeyId']);
      const listed = await ok<{ publicKeyId: string; name: string; publicKey: string }[]>(prod, 'GET', CUSTOMER_KEYS);
      expect(listed.find((k) => k.publicKeyId === publicKeyId)).toMatchObject({ name: 'ACME signing key 2025', encryptionAlgorithm: 'PGP' });
      expect((await ok<{ publicKeyId: string }[]>(dev, 'GET', CUSTOMER_KEYS)).map((k) => k.publicKeyId)).not.toContain(
        publicKeyId,
      );
    });

    it('refuses private, expired, revoked, weak, encryption-only and malformed keys with their codes', async () => {
      await gpg.generateKey('Private <private@example.com>', 'ed25519', 'sign', '1y');
      // Made in 2020 with a one-day lifetime: long expired.
      await gpg.ok([
        '--faked-system-time',
        '20200101T000000',
        '--quick-gen-key',
        'Expired <expired@example.com>',
        'ed25519',
        'sign',
        '1d',
      ]);
      const revokedFpr = await gpg.generateKey('Revoked <revoked@example.com>', 'ed25519', 'sign', '1y');
      const revocation = (await readFile(join(gpg.dir, 'openpgp-revocs.d', `${revokedFpr}.rev`), 'utf8')).replace(
        /^:-----BEGIN/m,
        '-----BEGIN',
      );
      await gpg.importKey(revocation);
      await gpg.generateKey('Weak <weak@example.com>', 'rsa1024', 'sign', '1y');
      await gpg.generateKey('Encrypt Only <enc@example.com>', 'rsa3072', 'encrypt', '1y');
      const cases: [string, Promise<{ status: number; json: unknown }>, number, string][] = [
        [
          'a private key',
          register(prod, await gpg.exportSecret('private@example.com')),
          400,
          'PRIVATE_KEY_NOT_ALLOWED',
        ],
        ['an expired key', register(prod, await gpg.exportPublic('expired@example.com')), 400, 'KEY_EXPIRED'],
        ['a revoked key', register(prod, await gpg.exportPublic('revoked@example.com')), 400, 'KEY_REVOKED'],
        ['an RSA-1024 key', register(prod, await gpg.exportPublic('weak@example.com')), 400, 'KEY_TOO_WEAK'],
        ['an encryption-only key', register(prod, await gpg.exportPublic('enc@example.com')), 400, 'NO_SIGNING_KEY'],
        ['garbage', register(prod, 'not a key at all'), 400, 'INVALID_PUBLIC_KEY'],
        [
          'not Base64',
          call(prod, 'POST', CUSTOMER_KEYS, { encryptionAlgorithm: 'PGP', publicKey: '%%% not base64 %%%' }),
          400,
          'INVALID_REQUEST',
        ],
        [
          'an algorithm other than PGP',
          call(prod, 'POST', CUSTOMER_KEYS, { encryptionAlgorithm: 'RSA', publicKey: 'AAAA' }),
          400,
          'INVALID_REQUEST',
        ],
      ];
      for (const [label, response, status, code] of cases) {
        const { status: got, json } = await response;
        expect({ label, status: got, code: (json as Problem).code }).toEqual({ label, status, code });
      }
    });
  });

  it('never returns a private key or a passphrase in any response', async () => {
    expect(bodies.length).toBeGreaterThan(20);
    for (const text of bodies) {
      expect(text).not.toContain('PRIVATE KEY');
      expect(text).not.toContain(PASSPHRASE);
      for (const match of text.matchAll(/"publicKey":"([A-Za-z0-9+/=]+)"/g)) {
        const armored = armorOf(match[1] ?? '');
        expect(armored).not.toContain('PRIVATE KEY');
        expect(armored).not.toContain(PASSPHRASE);
      }
    }
    // The private key block sits only in the object store, envelope-encrypted.
    const objects = BlobServiceClient.fromConnectionString(stack.azurite.connectionString);
    for await (const container of objects.listContainers()) {
      for await (const item of objects.getContainerClient(container.name).listBlobsFlat()) {
        const body = await objects.getContainerClient(container.name).getBlobClient(item.name).downloadToBuffer();
        expect(body.includes('PRIVATE KEY'), `${container.name}/${item.name}`).toBe(false);
        expect(body.includes(PASSPHRASE), `${container.name}/${item.name}`).toBe(false);
      }
    }
  });
});
