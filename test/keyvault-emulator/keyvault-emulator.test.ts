import { constants, createHash, createPublicKey, randomBytes, verify as nodeVerify } from 'node:crypto';
import { ManagedIdentityCredential } from '@azure/identity';
import { CryptographyClient, type KeyClient, type KeyVaultKey } from '@azure/keyvault-keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyVaultEmulator } from '../../local/keyvault-emulator/index.js';
import { CLIENT_OPTIONS, appCredential, expectVaultError, keyClient, startEmulator, uniqueName } from './harness.js';

let emulator: KeyVaultEmulator;
let keys: KeyClient;
const credential = () => appCredential();

beforeAll(async () => {
  emulator = await startEmulator();
  keys = keyClient(emulator);
});

afterAll(async () => {
  await emulator?.close();
});

/**
 * A CryptographyClient built from a key id string fetches the key first and then may run public-key
 * operations (RSA-OAEP encrypt/wrap, verifyData) locally; unwrap/decrypt/sign and RSA-OAEP-256
 * always go to the vault.
 */
function cryptoFor(keyId: string): CryptographyClient {
  return new CryptographyClient(keyId, credential(), CLIENT_OPTIONS);
}

function publicKeyOf(key: KeyVaultKey) {
  const { n, e } = key.key ?? {};
  if (!n || !e) throw new Error('no public key');
  return createPublicKey({ key: { kty: 'RSA', n: Buffer.from(n).toString('base64url'), e: Buffer.from(e).toString('base64url') }, format: 'jwk' });
}

function versionOf(key: KeyVaultKey): string {
  const version = key.properties.version;
  if (!version) throw new Error('no version');
  return version;
}

describe('key management', () => {
  it.each([2048, 3072, 4096])('creates an RSA %i key with a 32-hex version and the default key_ops', async (size) => {
    const key = await keys.createRsaKey(uniqueName('rsa'), { keySize: size });
    expect(key.keyType).toBe('RSA');
    expect(key.key?.n?.length).toBe(size / 8);
    expect(versionOf(key)).toMatch(/^[0-9a-f]{32}$/);
    expect(key.id).toBe(`${emulator.url}/keys/${key.name}/${versionOf(key)}`);
    expect(key.keyOperations).toEqual(['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey']);
    expect(key.properties.enabled).toBe(true);
    expect(key.properties.createdOn).toBeInstanceOf(Date);
  });

  it('creates an RSA-HSM key with the requested key_ops and tags', async () => {
    const key = await keys.createRsaKey(uniqueName('hsm'), { hsm: true, keyOps: ['wrapKey', 'unwrapKey'], tags: { team: 'cf' } });
    expect(key.keyType).toBe('RSA-HSM');
    expect(key.keyOperations).toEqual(['wrapKey', 'unwrapKey']);
    expect(key.properties.tags).toEqual({ team: 'cf' });
  });

  it('gets a key by name (latest) and by version', async () => {
    const name = uniqueName('get');
    const v1 = await keys.createRsaKey(name);
    const v2 = await keys.createRsaKey(name);
    expect(versionOf(await keys.getKey(name))).toBe(versionOf(v2));
    expect(versionOf(await keys.getKey(name, { version: versionOf(v1) }))).toBe(versionOf(v1));
  });

  it('lists keys across pages and lists every version of a key', async () => {
    const prefix = uniqueName('list');
    const names = [`${prefix}-a`, `${prefix}-b`, `${prefix}-c`];
    for (const name of names) await keys.createRsaKey(name);
    await keys.createRsaKey(names[0] ?? '');
    const listed: string[] = [];
    let pages = 0;
    for await (const page of keys.listPropertiesOfKeys().byPage({ maxPageSize: 2 })) {
      pages++;
      for (const p of page) listed.push(p.name);
    }
    expect(pages).toBeGreaterThan(1);
    expect(listed).toEqual(expect.arrayContaining(names));
    const versions: string[] = [];
    for await (const p of keys.listPropertiesOfKeyVersions(names[0] ?? '')) versions.push(p.version ?? '');
    expect(versions).toHaveLength(2);
  });

  it('updates enabled, expiry, key_ops and tags of a version', async () => {
    const key = await keys.createRsaKey(uniqueName('upd'));
    const expiresOn = new Date(Math.floor(Date.now() / 1000 + 3600) * 1000);
    const updated = await keys.updateKeyProperties(key.name, versionOf(key), { enabled: false, expiresOn, tags: { a: 'b' } });
    expect(updated.properties.enabled).toBe(false);
    expect(updated.properties.expiresOn?.getTime()).toBe(expiresOn.getTime());
    expect(updated.properties.tags).toEqual({ a: 'b' });
    const fetched = await keys.getKey(key.name);
    expect(fetched.properties.enabled).toBe(false);
  });

  it('keeps tags per version: a versionless update tags the latest, a new version starts with its own, get returns them', async () => {
    const first = await keys.createRsaKey(uniqueName('tags'), { tags: { 'cipherflow-org': 'ACME1234@AdobeOrg' } });
    const second = await keys.createRsaKey(first.name);
    expect(second.properties.tags ?? {}).toEqual({});
    expect((await keys.getKey(first.name)).properties.tags ?? {}).toEqual({});
    expect((await keys.getKey(first.name, { version: versionOf(first) })).properties.tags).toEqual({ 'cipherflow-org': 'ACME1234@AdobeOrg' });
    await keys.updateKeyProperties(first.name, { tags: { 'cipherflow-org': 'ACME1234@AdobeOrg', team: 'cf' } });
    expect((await keys.getKey(first.name)).properties.tags).toEqual({ 'cipherflow-org': 'ACME1234@AdobeOrg', team: 'cf' });
    // Tags are replaced as a whole; an empty object removes them.
    await keys.updateKeyProperties(first.name, { tags: {} });
    expect((await keys.getKey(first.name)).properties.tags ?? {}).toEqual({});
    await expectVaultError(keys.updateKeyProperties(first.name, { tags: { n: 1 } as unknown as Record<string, string> }), 400, 'BadParameter');
  });

  it('refuses an unknown key with 404 KeyNotFound', async () => {
    await expectVaultError(keys.getKey(uniqueName('missing')), 404, 'KeyNotFound');
  });

  it('refuses an unsupported key size with 400 BadParameter', async () => {
    await expectVaultError(keys.createRsaKey(uniqueName('bad'), { keySize: 1024 }), 400, 'BadParameter');
  });
});

describe('wrap and unwrap', () => {
  it.each(['RSA-OAEP-256', 'RSA-OAEP'] as const)('round-trips a data key with %s', async (alg) => {
    const key = await keys.createRsaKey(uniqueName('wrap'));
    const crypto = cryptoFor(key.id ?? '');
    const dek = randomBytes(32);
    const wrapped = await crypto.wrapKey(alg, dek);
    expect(wrapped.keyID).toBe(key.id);
    const unwrapped = await crypto.unwrapKey(alg, wrapped.result);
    expect(Buffer.from(unwrapped.result).equals(dek)).toBe(true);
  });

  it('uses the latest version for a versionless key id (empty version segment)', async () => {
    const name = uniqueName('latest');
    await keys.createRsaKey(name);
    const v2 = await keys.createRsaKey(name);
    const crypto = cryptoFor(`${emulator.url}/keys/${name}`);
    const dek = randomBytes(32);
    const wrapped = await crypto.wrapKey('RSA-OAEP-256', dek);
    expect(wrapped.keyID).toBe(v2.id);
    const unwrapped = await crypto.unwrapKey('RSA-OAEP-256', wrapped.result);
    expect(Buffer.from(unwrapped.result).equals(dek)).toBe(true);
  });

  it('still unwraps with the old version after a new version is created', async () => {
    const name = uniqueName('rotate');
    const v1 = await keys.createRsaKey(name);
    const dek = randomBytes(32);
    const wrapped = await cryptoFor(v1.id ?? '').wrapKey('RSA-OAEP-256', dek);
    await keys.createRsaKey(name);
    const unwrapped = await cryptoFor(v1.id ?? '').unwrapKey('RSA-OAEP-256', wrapped.result);
    expect(Buffer.from(unwrapped.result).equals(dek)).toBe(true);
    // The latest version is a different key and cannot unwrap it: an opaque BadParameter.
    await expectVaultError(cryptoFor(`${emulator.url}/keys/${name}`).unwrapKey('RSA-OAEP-256', wrapped.result), 400, 'BadParameter');
  });

  it('encrypts and decrypts with RSA-OAEP-256', async () => {
    const key = await keys.createRsaKey(uniqueName('enc'));
    const crypto = cryptoFor(key.id ?? '');
    const plaintext = Buffer.from('hello vault');
    const encrypted = await crypto.encrypt({ algorithm: 'RSA-OAEP-256', plaintext });
    const decrypted = await crypto.decrypt({ algorithm: 'RSA-OAEP-256', ciphertext: encrypted.result });
    expect(Buffer.from(decrypted.result).toString()).toBe('hello vault');
  });
});

describe('sign and verify', () => {
  it('refuses PSS signing with BadParameter (not served by the emulator)', async () => {
    const key = await keys.createRsaKey(uniqueName('pss'));
    const digest = createHash('sha256').update('x').digest();
    await expect(cryptoFor(key.id ?? '').sign('PS256', digest)).rejects.toMatchObject({ statusCode: 400, code: 'BadParameter' });
  });

  it.each([
    ['RS256', 'sha256'],
    ['RS384', 'sha384'],
    ['RS512', 'sha512'],
  ] as const)('signs a %s digest that a standard verifier accepts over the original data', async (alg, hash) => {
    const key = await keys.createRsaKey(uniqueName('sign'));
    const crypto = cryptoFor(key.id ?? '');
    const data = Buffer.from('the data that was hashed');
    const digest = createHash(hash).update(data).digest();
    const { result: signature } = await crypto.sign(alg, digest);
    const padding = { padding: constants.RSA_PKCS1_PADDING };
    expect(nodeVerify(hash, data, { key: publicKeyOf(key), ...padding }, signature)).toBe(true);
    expect((await crypto.verify(alg, digest, signature)).result).toBe(true);
    const tampered = Buffer.from(signature);
    tampered[10] = (tampered[10] ?? 0) ^ 1;
    expect((await crypto.verify(alg, digest, tampered)).result).toBe(false);
  });
});

describe('key state enforcement', () => {
  it('refuses unwrap on a disabled key with 403 Forbidden / KeyDisabled', async () => {
    const key = await keys.createRsaKey(uniqueName('disabled'));
    const wrapped = await cryptoFor(key.id ?? '').wrapKey('RSA-OAEP-256', randomBytes(32));
    await keys.updateKeyProperties(key.name, versionOf(key), { enabled: false });
    await expectVaultError(cryptoFor(key.id ?? '').unwrapKey('RSA-OAEP-256', wrapped.result), 403, 'Forbidden', 'KeyDisabled');
    await expectVaultError(cryptoFor(key.id ?? '').sign('RS256', randomBytes(32)), 403, 'Forbidden', 'KeyDisabled');
  });

  it('refuses wrap on an expired key but still unwraps what it wrapped', async () => {
    const key = await keys.createRsaKey(uniqueName('expired'));
    // Built from the KeyVaultKey fetched before expiry: the SDK checks nbf/exp client-side on a key
    // it holds (even for unwrap), so a stale copy is what lets the vault's own rule be observed.
    const crypto = new CryptographyClient(key, credential(), CLIENT_OPTIONS);
    const dek = randomBytes(32);
    const wrapped = await crypto.wrapKey('RSA-OAEP-256', dek);
    await keys.updateKeyProperties(key.name, versionOf(key), { expiresOn: new Date(Date.now() - 60_000) });
    await expectVaultError(crypto.wrapKey('RSA-OAEP-256', dek), 403, 'Forbidden', 'KeyExpired');
    await expectVaultError(crypto.sign('RS256', randomBytes(32)), 403, 'Forbidden', 'KeyExpired');
    // Real Key Vault keeps unwrap/decrypt/verify working on an expired key (no crypto-lock).
    const unwrapped = await crypto.unwrapKey('RSA-OAEP-256', wrapped.result);
    expect(Buffer.from(unwrapped.result).equals(dek)).toBe(true);
  });

  it('pitfall: a CryptographyClient that fetched an expired key refuses unwrap locally, before any vault call', async () => {
    const key = await keys.createRsaKey(uniqueName('sdkexp'));
    const wrapped = await cryptoFor(key.id ?? '').wrapKey('RSA-OAEP-256', randomBytes(32));
    // Expired after the wrap, whatever the machine's speed (a short expiry raced a slow CI box).
    await keys.updateKeyProperties(key.name, versionOf(key), { expiresOn: new Date(Date.now() - 1000) });
    await expect(cryptoFor(key.id ?? '').unwrapKey('RSA-OAEP-256', wrapped.result)).rejects.toThrow(/expired/);
  });

  it('refuses wrap on a key whose nbf is in the future with 403 Forbidden / KeyNotYetValid', async () => {
    const key = await keys.createRsaKey(uniqueName('nbf'));
    const crypto = new CryptographyClient(key, credential(), CLIENT_OPTIONS);
    await keys.updateKeyProperties(key.name, versionOf(key), { notBefore: new Date(Date.now() + 3_600_000) });
    await expectVaultError(crypto.wrapKey('RSA-OAEP-256', randomBytes(32)), 403, 'Forbidden', 'KeyNotYetValid');
  });

  it('refuses an operation missing from key_ops with 403 Forbidden / KeyOperationForbidden', async () => {
    const key = await keys.createRsaKey(uniqueName('ops'));
    const crypto = new CryptographyClient(key, credential(), CLIENT_OPTIONS);
    await keys.updateKeyProperties(key.name, versionOf(key), { keyOps: ['wrapKey', 'unwrapKey'] });
    await expectVaultError(crypto.sign('RS256', randomBytes(32)), 403, 'Forbidden', 'KeyOperationForbidden');
  });
});

describe('access control', () => {
  it('refuses a revoked identity with the RBAC 403 and serves it again once restored', async () => {
    const key = await keys.createRsaKey(uniqueName('rbac'));
    const wrapped = await cryptoFor(key.id ?? '').wrapKey('RSA-OAEP-256', randomBytes(32));
    await emulator.revokeAccess(emulator.systemAssignedIdentity.principalId, key.name);
    await expectVaultError(keys.getKey(key.name), 403, 'Forbidden', 'ForbiddenByRbac');
    // The CryptographyClient falls back to remote-only on a 403 GET; the unwrap is refused too.
    await expectVaultError(cryptoFor(key.id ?? '').unwrapKey('RSA-OAEP-256', wrapped.result), 403, 'Forbidden', 'ForbiddenByRbac');
    // Another identity (user-assigned, chosen by client id) is unaffected.
    const other = new ManagedIdentityCredential({ clientId: '11111111-2222-3333-4444-555555555555' });
    expect((await keyClientWith(other).getKey(key.name)).name).toBe(key.name);
    await emulator.restoreAccess(emulator.systemAssignedIdentity.principalId, key.name);
    expect((await keys.getKey(key.name)).name).toBe(key.name);
  });

  it('revokes and restores through the admin HTTP API too', async () => {
    const key = await keys.createRsaKey(uniqueName('admin'));
    const clientId = emulator.systemAssignedIdentity.clientId;
    const post = (path: string) =>
      fetch(`${emulator.url}/_emulator/access/${path}`, { method: 'POST', body: JSON.stringify({ identity: clientId, keyName: key.name }) });
    expect((await post('revoke')).status).toBe(204);
    await expectVaultError(keys.getKey(key.name), 403, 'Forbidden', 'ForbiddenByRbac');
    expect((await post('restore')).status).toBe(204);
    expect((await keys.getKey(key.name)).name).toBe(key.name);
  });

  it('answers a request without a token with the Key Vault bearer challenge', async () => {
    const res = await fetch(`${emulator.url}/keys?api-version=2025-07-01`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer authorization="https://login.microsoftonline.com/${emulator.tenantId}", resource="https://vault.azure.net"`,
    );
    const forged = await fetch(`${emulator.url}/keys?api-version=2025-07-01`, { headers: { authorization: 'Bearer a.b.c' } });
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe('Unauthorized');
  });
});

describe('delete and recovery level', () => {
  it('deletes a key (poller completes) and then answers 404 KeyNotFound', async () => {
    const key = await keys.createRsaKey(uniqueName('del'));
    const poller = await keys.beginDeleteKey(key.name, { intervalInMs: 50 });
    const deleted = await poller.pollUntilDone();
    expect(deleted.name).toBe(key.name);
    expect(deleted.properties.recoveryId).toBe(`${emulator.url}/deletedkeys/${key.name}`);
    await expectVaultError(keys.getKey(key.name), 404, 'KeyNotFound');
    expect((await keys.getDeletedKey(key.name)).name).toBe(key.name);
  });

  it('reports Recoverable under purge protection and Recoverable+Purgeable without it', async () => {
    const name = uniqueName('purge');
    expect((await keys.createRsaKey(name)).properties.recoveryLevel).toBe('Recoverable');
    await (await keys.beginDeleteKey(name, { intervalInMs: 50 })).pollUntilDone();
    await expectVaultError(keys.purgeDeletedKey(name), 403, 'Forbidden');
    await emulator.setPurgeProtection(false);
    try {
      expect((await keys.getDeletedKey(name)).properties.recoveryLevel).toBe('Recoverable+Purgeable');
      await keys.purgeDeletedKey(name);
      await expectVaultError(keys.getDeletedKey(name), 404, 'KeyNotFound');
    } finally {
      await emulator.setPurgeProtection(true);
    }
  });

  it('recovers a deleted key', async () => {
    const key = await keys.createRsaKey(uniqueName('rec'));
    await (await keys.beginDeleteKey(key.name, { intervalInMs: 50 })).pollUntilDone();
    await expectVaultError(keys.createRsaKey(key.name), 409, 'Conflict', 'ObjectIsDeletedButRecoverable');
    const recovered = await (await keys.beginRecoverDeletedKey(key.name, { intervalInMs: 50 })).pollUntilDone();
    expect(recovered.id).toBe(key.id);
  });
});

describe('test controls', () => {
  it('counts vault calls per operation, unwrapKey always remote', async () => {
    const key = await keys.createRsaKey(uniqueName('count'));
    const crypto = cryptoFor(key.id ?? '');
    const wrapped = await crypto.wrapKey('RSA-OAEP-256', randomBytes(32));
    emulator.resetRequestCounts();
    for (let i = 0; i < 3; i++) await crypto.unwrapKey('RSA-OAEP-256', wrapped.result);
    const counts = emulator.requestCounts({ reset: true });
    expect(counts.unwrapKey).toBe(3);
    expect(counts.get).toBeUndefined();
    expect(emulator.requestCounts()).toEqual({});
    const viaHttp = (await (await fetch(`${emulator.url}/_emulator/counters`)).json()) as Record<string, number>;
    expect(viaHttp).toEqual({});
  });

  it('fails the next request with an injected 503 that the SDK retries', async () => {
    const key = await keys.createRsaKey(uniqueName('fault'));
    const crypto = cryptoFor(key.id ?? '');
    const wrapped = await crypto.wrapKey('RSA-OAEP-256', randomBytes(32));
    emulator.resetRequestCounts();
    emulator.injectFault({ kind: 'status', status: 503, count: 1, operations: ['unwrapKey'], retryAfterSeconds: 0 });
    await crypto.unwrapKey('RSA-OAEP-256', wrapped.result);
    expect(emulator.requestCounts()).toMatchObject({ faulted: 1, unwrapKey: 1 });
  });

  it('stalls a request for the injected time', async () => {
    const key = await keys.createRsaKey(uniqueName('stall'));
    emulator.injectFault({ kind: 'stall', count: 1, ms: 300, operations: ['get'] });
    const started = Date.now();
    await keys.getKey(key.name);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });
});

function keyClientWith(cred: ManagedIdentityCredential): KeyClient {
  return keyClient(emulator, cred);
}
