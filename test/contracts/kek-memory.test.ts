import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors.js';
import { createMemoryKekClient, MemoryKeyVault } from '../fakes/memory-kek.js';
import { kekContract } from './kek.contract.js';

kekContract('in-memory fake', () => {
  const vault = new MemoryKeyVault();
  return Promise.resolve({
    client: vault.client,
    vaultUrl: vault.url,
    createKey: (options = {}) => vault.createKey(`kek-${randomBytes(5).toString('hex')}`, options),
    rotateKey: (name) => vault.rotateKey(name),
    setAttributes: (name, version, attributes) => Promise.resolve(vault.setAttributes(name, attributes, version)),
    deleteKey: (name) => Promise.resolve(vault.deleteKey(name)),
    recoverKey: (name) => Promise.resolve(vault.recoverKey(name)),
    revokeAccess: (name) => Promise.resolve(vault.revokeAccess(name)),
    restoreAccess: (name) => Promise.resolve(vault.restoreAccess(name)),
    failNextCall: (operation, status) => vault.injectFault({ status, operations: [operation] }),
    stop: () => Promise.resolve(),
  });
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'none',
    (err: unknown) => (err instanceof AppError ? err.code : String(err)),
  );
}

describe('in-memory KEK fake, beyond the contract', () => {
  it('serves several vaults through one client, and answers KEY_VAULT_UNAVAILABLE for a vault it does not know', async () => {
    const system = new MemoryKeyVault({ url: 'https://system-kek.vault.azure.net' });
    const customer = new MemoryKeyVault({ url: 'https://customer-kek.vault.azure.net' });
    const client = createMemoryKekClient([system, customer]);
    const a = await system.createKey('kek');
    const b = await customer.createKey('kek');
    const secret = new Uint8Array(randomBytes(32));
    for (const key of [a, b]) {
      const wrapped = await client.wrapKey({ vaultUrl: key.vaultUrl, name: 'kek' }, secret);
      expect(wrapped.kek).toEqual(key);
      expect(Buffer.from(await client.unwrapKey(key, wrapped.wrappedKey)).equals(Buffer.from(secret))).toBe(true);
    }
    // The same name in the other vault is another key.
    const inSystem = await client.wrapKey(a, secret);
    expect(await codeOf(client.unwrapKey(b, inSystem.wrappedKey))).toBe('DECRYPTION_FAILED');
    expect(await codeOf(client.wrapKey({ vaultUrl: 'https://elsewhere.vault.azure.net', name: 'kek' }, secret))).toBe('KEY_VAULT_UNAVAILABLE');
    // Each vault's own client reaches only it.
    expect(await codeOf(system.client.wrapKey({ vaultUrl: customer.url, name: 'kek' }, secret))).toBe('KEY_VAULT_UNAVAILABLE');
  });

  it('counts the calls asked of a vault, failed ones included, and fails calls for as long as a fault lasts', async () => {
    const vault = new MemoryKeyVault();
    const key = await vault.createKey('kek');
    vault.injectFault({ status: 429, count: 2 });
    expect(await codeOf(vault.client.wrapKey(key, new Uint8Array(32)))).toBe('KEY_VAULT_UNAVAILABLE');
    expect(await codeOf(vault.client.unwrapKey(key, new Uint8Array(256)))).toBe('KEY_VAULT_UNAVAILABLE');
    const { wrappedKey } = await vault.client.wrapKey(key, new Uint8Array(32));
    await vault.client.unwrapKey(key, wrappedKey);
    expect(vault.requestCounts()).toEqual({ wrapKey: 2, unwrapKey: 2 });
    vault.resetRequestCounts();
    expect(vault.requestCounts()).toEqual({});
  });

  it('refuses to wrap a value too long for RSA-OAEP-256 as the vault does: a 400 that is no KEK code', async () => {
    const vault = new MemoryKeyVault();
    const key = await vault.createKey('kek');
    const err: unknown = await vault.client.wrapKey(key, new Uint8Array(191)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ name: 'RestError', statusCode: 400, code: 'BadParameter' });
  });
});
