import { odata, type TableClient } from '@azure/data-tables';
import { describe, expect, it } from 'vitest';
import { isStorageOutage } from '../../shared/core/azure-errors.js';
import { systemRandom } from '../../shared/core/random.js';
import type { KekClient } from '../../shared/vault/kek-client.js';
import { createKeyHierarchy, type KeyHierarchy, type KeyHierarchyDeps } from '../../shared/vault/key-hierarchy.js';
import type { KekRef } from '../../shared/vault/key-vault-key-id.js';
import { ROOT_KEYS_TABLE } from '../../shared/vault/root-key-record.js';
import { MemoryKeyVault } from '../fakes/memory-kek.js';
import { MemoryTableService } from '../fakes/memory-tables.js';
import { ManualClock, expectCode, uniqueOrg } from './support.js';

/**
 * The key hierarchy over the in-memory Table and Key Vault fakes (test/contracts holds both to
 * Azurite's and the emulator's answers): its records, races and every KEK refusal, in
 * milliseconds. key-hierarchy.test.ts and kek-failures.test.ts keep what needs the real services:
 * objects in blob storage, the system KEK created through KeyClient, the vault's own counters.
 */

interface Fixture {
  readonly tables: MemoryTableService;
  readonly vault: MemoryKeyVault;
  readonly kek: KekRef;
  /** A hierarchy as one instance of the app builds it: its own table client, cache and clock. */
  hierarchy(options?: Partial<Pick<KeyHierarchyDeps, 'cacheTtlSeconds' | 'maxStaleSeconds' | 'resolveKek'>> & { readonly clock?: ManualClock; readonly vault?: KekClient }): KeyHierarchy;
  records(orgId: string): Promise<Record<string, unknown>[]>;
  table(): TableClient;
}

const hex = (key: Uint8Array): string => Buffer.from(key).toString('hex');

async function fixture(): Promise<Fixture> {
  const tables = new MemoryTableService();
  const vault = new MemoryKeyVault();
  const { name } = await vault.createKey('system-kek');
  const kek = vault.ref(name);
  const table = () => tables.client(ROOT_KEYS_TABLE);
  return {
    tables,
    vault,
    kek,
    table,
    hierarchy: (options = {}) =>
      createKeyHierarchy({
        tables: table(),
        vault: options.vault ?? vault.client,
        clock: options.clock ?? new ManualClock(),
        random: systemRandom,
        resolveKek: options.resolveKek ?? (() => Promise.resolve(kek)),
        cacheTtlSeconds: options.cacheTtlSeconds ?? 300,
        ...(options.maxStaleSeconds === undefined ? {} : { maxStaleSeconds: options.maxStaleSeconds }),
      }),
    async records(orgId) {
      const rows: Record<string, unknown>[] = [];
      for await (const row of table().listEntities({ queryOptions: { filter: odata`PartitionKey eq ${orgId}` } })) rows.push(row);
      return rows;
    },
  };
}

describe('key hierarchy (in-memory tables and vault)', () => {
  it('keeps one root key per sandbox, stored only wrapped, beside the KEK version that wrapped it', async () => {
    const f = await fixture();
    const hierarchy = f.hierarchy();
    const orgId = uniqueOrg();
    const a = await hierarchy.rootKey({ orgId, sandbox: 'prod' });
    const b = await hierarchy.rootKey({ orgId, sandbox: 'dev' });
    expect(a.length).toBe(32);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    const rows = await f.records(orgId);
    expect(rows.map((r) => r.rowKey)).toEqual(['dev', 'prod']);
    const version = (await f.vault.client.wrapKey(f.kek, new Uint8Array(32))).kek.version;
    for (const row of rows) {
      expect(row).toMatchObject({ kekKeyId: `${f.kek.vaultUrl}/keys/${f.kek.name}/${version}`, kekVersion: version, kekName: f.kek.name, kekVaultUrl: f.kek.vaultUrl, wrapAlgorithm: 'RSA-OAEP-256' });
      expect(Buffer.from(String(row.wrappedKey), 'base64').length).toBe(256); // the fake's RSA-2048
      expect(String(row.wrappedKey)).not.toContain(Buffer.from(a).toString('base64'));
    }
  });

  it('agrees on one root key when instances race on first use (insert-if-absent)', async () => {
    const f = await fixture();
    const scope = { orgId: uniqueOrg(), sandbox: 'prod' };
    // Separate hierarchies = separate processes: no shared cache or in-flight load.
    const instances = Array.from({ length: 6 }, () => f.hierarchy());
    const keys = await Promise.all(instances.flatMap((h) => [h.rootKey(scope), h.rootKey(scope)]));
    expect(new Set(keys.map(hex)).size).toBe(1);
    expect(await f.records(scope.orgId)).toHaveLength(1);
    // Every instance but the winner ended by unwrapping the winner's key (having lost the insert,
    // or read the record after it).
    expect(f.vault.requestCounts().unwrapKey).toBe(5);
  });

  it('uses the resolver only for new root keys; existing ones keep their recorded KEK', async () => {
    const f = await fixture();
    const other = f.vault.ref((await f.vault.createKey('customer-kek')).name);
    const orgId = uniqueOrg();
    await f.hierarchy().rootKey({ orgId, sandbox: 'prod' });
    const resolved: string[] = [];
    const hierarchy = f.hierarchy({
      resolveKek: (org) => {
        resolved.push(org);
        return Promise.resolve(other);
      },
    });
    await hierarchy.rootKey({ orgId, sandbox: 'prod' });
    await hierarchy.rootKey({ orgId, sandbox: 'dev' });
    expect(resolved).toEqual([orgId]);
    const rows = await f.records(orgId);
    expect(rows.find((r) => r.rowKey === 'prod')?.kekName).toBe(f.kek.name);
    expect(rows.find((r) => r.rowKey === 'dev')?.kekName).toBe(other.name);
  });

  it('fails with DECRYPTION_FAILED when the stored wrapped key does not open under its recorded KEK', async () => {
    const f = await fixture();
    const scope = { orgId: uniqueOrg(), sandbox: 'prod' };
    await f.hierarchy().rootKey(scope);
    const [row] = await f.records(scope.orgId);
    const wrapped = Buffer.from(String(row?.wrappedKey), 'base64');
    wrapped[0] = (wrapped[0] ?? 0) ^ 1;
    await f.table().updateEntity({ partitionKey: scope.orgId, rowKey: 'prod', wrappedKey: wrapped.toString('base64') }, 'Merge');
    await expectCode(f.hierarchy().rootKey(scope), 'DECRYPTION_FAILED');
  });

  it('keeps serving from the cache within the TTL, fails with KEK_DISABLED after it, and works again once re-enabled', async () => {
    const f = await fixture();
    const clock = new ManualClock();
    const hierarchy = f.hierarchy({ clock });
    const scope = { orgId: uniqueOrg(), sandbox: 'prod' };
    const key = await hierarchy.rootKey(scope);
    f.vault.setAttributes(f.kek.name, { enabled: false });
    clock.advanceSeconds(299);
    expect(hex(await hierarchy.rootKey(scope))).toBe(hex(key));
    clock.advanceSeconds(1);
    await expectCode(hierarchy.rootKey(scope), 'KEK_DISABLED');
    f.vault.setAttributes(f.kek.name, { enabled: true });
    expect(hex(await hierarchy.rootKey(scope))).toBe(hex(key));
  });

  it('fails with KEK_ACCESS_DENIED while the identity is revoked, and recovers when restored', async () => {
    const f = await fixture();
    const clock = new ManualClock();
    const hierarchy = f.hierarchy({ clock });
    const scope = { orgId: uniqueOrg(), sandbox: 'prod' };
    const key = await hierarchy.rootKey(scope);
    f.vault.revokeAccess(f.kek.name);
    clock.advanceSeconds(301);
    await expectCode(hierarchy.rootKey(scope), 'KEK_ACCESS_DENIED');
    // A new sandbox cannot get a key either: wrapping is refused too.
    await expectCode(hierarchy.rootKey({ ...scope, sandbox: 'dev' }), 'KEK_ACCESS_DENIED');
    f.vault.restoreAccess(f.kek.name);
    expect(hex(await hierarchy.rootKey(scope))).toBe(hex(key));
  });

  it('fails with KEK_NOT_FOUND once the KEK is deleted', async () => {
    const f = await fixture();
    const clock = new ManualClock();
    const hierarchy = f.hierarchy({ clock });
    const scope = { orgId: uniqueOrg(), sandbox: 'prod' };
    await hierarchy.rootKey(scope);
    f.vault.deleteKey(f.kek.name);
    clock.advanceSeconds(301);
    await expectCode(hierarchy.rootKey(scope), 'KEK_NOT_FOUND');
  });

  it('fails with KEY_VAULT_UNAVAILABLE, retryable after 5 s, when the vault does not answer, and works on the next call', async () => {
    const f = await fixture();
    const clock = new ManualClock();
    const hierarchy = f.hierarchy({ clock });
    const scope = { orgId: uniqueOrg(), sandbox: 'prod' };
    const key = await hierarchy.rootKey(scope);
    clock.advanceSeconds(301);
    f.vault.injectFault({ status: 503, operations: ['unwrapKey'] });
    const err = await expectCode(hierarchy.rootKey(scope), 'KEY_VAULT_UNAVAILABLE');
    expect(err.retryAfterSeconds).toBe(5);
    expect(hex(await hierarchy.rootKey(scope))).toBe(hex(key));
  });

  it('fails a first use with KEY_VAULT_UNAVAILABLE when wrapKey gets no answer, storing no record', async () => {
    const f = await fixture();
    const scope = { orgId: uniqueOrg(), sandbox: 'prod' };
    f.vault.injectFault({ status: 503, operations: ['wrapKey'] });
    await expectCode(f.hierarchy().rootKey(scope), 'KEY_VAULT_UNAVAILABLE');
    expect(await f.records(scope.orgId)).toEqual([]);
  });

  it('with maxStaleSeconds, serves the cached key while the vault is unreachable but never once it refuses', async () => {
    const f = await fixture();
    const clock = new ManualClock();
    const hierarchy = f.hierarchy({ clock, maxStaleSeconds: 600 });
    const scope = { orgId: uniqueOrg(), sandbox: 'prod' };
    const key = await hierarchy.rootKey(scope);
    clock.advanceSeconds(301);
    f.vault.injectFault({ status: 503, operations: ['unwrapKey'] });
    expect(hex(await hierarchy.rootKey(scope))).toBe(hex(key));
    f.vault.setAttributes(f.kek.name, { enabled: false });
    await expectCode(hierarchy.rootKey(scope), 'KEK_DISABLED');
    // The refusal evicted the key: an outage right after does not bring it back.
    f.vault.injectFault({ status: 503, operations: ['unwrapKey'] });
    await expectCode(hierarchy.rootKey(scope), 'KEY_VAULT_UNAVAILABLE');
  });

  it('asks the vault for every unwrap past the TTL, and for none within it', async () => {
    const f = await fixture();
    const clock = new ManualClock();
    const hierarchy = f.hierarchy({ clock });
    const scope = { orgId: uniqueOrg(), sandbox: 'prod' };
    await hierarchy.rootKey(scope);
    f.vault.resetRequestCounts();
    for (let i = 0; i < 3; i++) {
      await hierarchy.rootKey(scope);
      clock.advanceSeconds(301);
      await hierarchy.rootKey(scope);
    }
    expect(f.vault.requestCounts()).toEqual({ unwrapKey: 3 });
  });

  it('passes a storage outage on as one, caching nothing, and works once storage answers', async () => {
    const f = await fixture();
    const hierarchy = f.hierarchy();
    const scope = { orgId: uniqueOrg(), sandbox: 'prod' };
    await f.hierarchy().rootKey(scope);
    f.tables.injectFault({ status: 503, operations: ['getEntity'] });
    const err: unknown = await hierarchy.rootKey(scope).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStorageOutage(err)).toBe(true);
    expect((await hierarchy.rootKey(scope)).length).toBe(32);
  });
});
