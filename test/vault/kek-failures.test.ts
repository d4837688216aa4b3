import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { TableClient } from '@azure/data-tables';
import type { KeyVaultKey } from '@azure/keyvault-keys';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, buildStore, expectCode, readAll, startVaultFixture, uniqueOrg, type VaultFixture } from './support.js';

let fixture: VaultFixture;
let table: TableClient;

beforeAll(async () => {
  fixture = await startVaultFixture();
  table = await fixture.newTable();
});

afterEach(() => {
  fixture.stack.vault.clearFaults();
});

afterAll(async () => {
  await fixture?.stop();
});

/** A KEK, a store over it with a manual clock, and one object already written. */
async function setup(options: { maxStaleSeconds?: number } = {}) {
  const { key, ref } = await fixture.newKek();
  const clock = new ManualClock();
  const { store, hierarchy } = buildStore(fixture, { table, kek: ref, clock, cacheTtlSeconds: 300, ...options });
  const scope = { orgId: uniqueOrg(), sandbox: 'prod' };
  const data = randomBytes(5000);
  await store.put(scope, 'obj', Readable.from([data]));
  return { key, ref, clock, store, hierarchy, scope, data };
}

function versionOf(key: KeyVaultKey): string {
  const version = key.properties.version;
  if (version === undefined) throw new Error('key without version');
  return version;
}

describe('KEK refused or unreachable', () => {
  it('keeps serving from the cache within the TTL, fails with KEK_DISABLED after it, and works again once re-enabled', async () => {
    const { key, clock, store, scope, data } = await setup();
    await fixture.keys.updateKeyProperties(key.name, versionOf(key), { enabled: false });
    clock.advanceSeconds(299);
    expect((await readAll(await store.get(scope, 'obj'))).equals(data)).toBe(true);
    clock.advanceSeconds(1);
    await expectCode(store.get(scope, 'obj'), 'KEK_DISABLED');
    // Writes are refused too, and nothing half-encrypted is left behind.
    await expectCode(store.put(scope, 'new', Readable.from([data])), 'KEK_DISABLED');
    expect(await fixture.blobs.getContainerClient('objects').getBlockBlobClient(`${scope.orgId}/prod/new`).exists()).toBe(false);
    await fixture.keys.updateKeyProperties(key.name, versionOf(key), { enabled: true });
    expect((await readAll(await store.get(scope, 'obj'))).equals(data)).toBe(true);
  });

  it('fails with KEK_ACCESS_DENIED when the identity is revoked, and recovers when restored', async () => {
    const { key, clock, store, scope, data } = await setup();
    const identity = fixture.stack.vault.systemAssignedIdentity.principalId;
    await fixture.stack.vault.revokeAccess(identity, key.name);
    try {
      clock.advanceSeconds(301);
      await expectCode(store.get(scope, 'obj'), 'KEK_ACCESS_DENIED');
    } finally {
      await fixture.stack.vault.restoreAccess(identity, key.name);
    }
    expect((await readAll(await store.get(scope, 'obj'))).equals(data)).toBe(true);
  });

  it('fails with KEK_NOT_FOUND when the KEK is deleted', async () => {
    const { key, clock, store, scope } = await setup();
    await (await fixture.keys.beginDeleteKey(key.name)).pollUntilDone();
    clock.advanceSeconds(301);
    await expectCode(store.get(scope, 'obj'), 'KEK_NOT_FOUND');
  });

  it('fails with KEY_VAULT_UNAVAILABLE, retryable after 5 s, when the vault answers 503 through the retries', async () => {
    const { clock, store, scope } = await setup();
    clock.advanceSeconds(301);
    // The test KEK client retries once: two 503s exhaust it.
    fixture.stack.vault.injectFault({ kind: 'status', status: 503, count: 2, operations: ['unwrapKey'] });
    const err = await expectCode(store.get(scope, 'obj'), 'KEY_VAULT_UNAVAILABLE');
    expect(err.retryAfterSeconds).toBe(5);
    expect(fixture.stack.vault.listFaults()).toEqual([]);
  });

  it('fails a first write with KEY_VAULT_UNAVAILABLE when wrapKey gets 503s, writing nothing', async () => {
    const { ref } = await fixture.newKek();
    const { store } = buildStore(fixture, { table, kek: ref });
    const scope = { orgId: uniqueOrg(), sandbox: 'prod' };
    fixture.stack.vault.injectFault({ kind: 'status', status: 503, count: 2, operations: ['wrapKey'] });
    await expectCode(store.put(scope, 'obj', Readable.from([Buffer.from('x')])), 'KEY_VAULT_UNAVAILABLE');
    expect(await table.getEntity(scope.orgId, scope.sandbox).catch((e: { statusCode?: number }) => e.statusCode)).toBe(404);
    expect(await fixture.blobs.getContainerClient('objects').getBlockBlobClient(`${scope.orgId}/prod/obj`).exists()).toBe(false);
  });

  it('succeeds through a single 503 (the SDK retries)', async () => {
    const { clock, store, scope, data } = await setup();
    clock.advanceSeconds(301);
    fixture.stack.vault.injectFault({ kind: 'status', status: 503, count: 1, operations: ['unwrapKey'] });
    expect((await readAll(await store.get(scope, 'obj'))).equals(data)).toBe(true);
  });

  it('with KEY_CACHE_MAX_STALE_SECONDS, serves the cached key while the vault is unreachable but never once it refuses', async () => {
    const { key, clock, store, scope, data } = await setup({ maxStaleSeconds: 600 });
    clock.advanceSeconds(301);
    fixture.stack.vault.injectFault({ kind: 'status', status: 503, count: 2, operations: ['unwrapKey'] });
    expect((await readAll(await store.get(scope, 'obj'))).equals(data)).toBe(true);
    await fixture.keys.updateKeyProperties(key.name, versionOf(key), { enabled: false });
    await expectCode(store.get(scope, 'obj'), 'KEK_DISABLED');
    // The refusal evicted the key: an outage right after does not bring it back.
    fixture.stack.vault.injectFault({ kind: 'status', status: 503, count: 2, operations: ['unwrapKey'] });
    await expectCode(store.get(scope, 'obj'), 'KEY_VAULT_UNAVAILABLE');
  });

  it('sends every unwrap to the vault (RSA-OAEP-256, no local key fetch)', async () => {
    const { clock, store, scope } = await setup();
    fixture.stack.vault.resetRequestCounts();
    for (let i = 0; i < 3; i++) {
      clock.advanceSeconds(301);
      await readAll(await store.get(scope, 'obj'));
    }
    expect(fixture.stack.vault.requestCounts()).toMatchObject({ unwrapKey: 3 });
    expect(fixture.stack.vault.requestCounts().get).toBeUndefined();
  });
});

