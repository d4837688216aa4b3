import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KekClient } from '../../shared/vault/kek-client.js';
import { rewrapRootKeys } from '../../shared/vault/rewrap-root-keys.js';
import { ManualClock, buildStore, expectCode, readAll, startVaultFixture, uniqueOrg, type VaultFixture } from './support.js';

let fixture: VaultFixture;
let table: TableClient;

beforeAll(async () => {
  fixture = await startVaultFixture();
  table = await fixture.newTable();
});

afterAll(async () => {
  await fixture?.stop();
});

async function rowsOf(orgId: string) {
  const rows = [];
  for await (const row of table.listEntities<Record<string, unknown>>({ queryOptions: { filter: `PartitionKey eq '${orgId}'` } })) rows.push(row);
  return rows;
}

describe('rewrapRootKeys', () => {
  it('re-wraps every root key under a new KEK version without touching any object', async () => {
    const { key: v1, ref } = await fixture.newKek();
    const orgId = uniqueOrg();
    const { store } = buildStore(fixture, { table, kek: ref });
    const objects = new Map<string, { sandbox: string; data: Buffer }>();
    for (const sandbox of ['prod', 'dev', 'stage']) {
      for (let i = 0; i < 3; i++) {
        const data = randomBytes(2000 + i);
        await store.put({ orgId, sandbox }, `obj-${i}`, Readable.from([data]));
        objects.set(`${orgId}/${sandbox}/obj-${i}`, { sandbox, data });
      }
    }
    const container = fixture.blobs.getContainerClient('objects');
    const before = new Map<string, { etag?: string; lastModified?: Date }>();
    for await (const b of container.listBlobsFlat({ prefix: `${orgId}/` })) before.set(b.name, { etag: b.properties.etag, lastModified: b.properties.lastModified });
    expect(before.size).toBe(9);

    // A new version of the same key (what rotation produces).
    const v2 = await fixture.keys.createRsaKey(v1.name, { keySize: 3072, keyOps: ['wrapKey', 'unwrapKey'] });
    const v2Version = v2.properties.version;
    expect(v2Version).toBeDefined();
    fixture.stack.vault.resetRequestCounts();
    const result = await rewrapRootKeys(
      { tables: table, vault: fixture.vault, clock: new ManualClock() },
      { orgId, to: { ...ref, version: v2Version ?? '' } },
    );
    expect(result).toMatchObject({ rewrapped: 3, unchanged: 0, last: { orgId, sandbox: 'stage' } });
    // Cost is per sandbox (3 unwraps + 3 wraps), not per object (9), and no blob was read.
    expect(fixture.stack.vault.requestCounts()).toMatchObject({ unwrapKey: 3, wrapKey: 3 });

    for (const row of await rowsOf(orgId)) {
      expect(row.kekVersion).toBe(v2Version);
      expect(row.kekKeyId).toBe(`${ref.vaultUrl}/keys/${ref.name}/${v2Version}`);
    }
    const after = new Map<string, { etag?: string; lastModified?: Date }>();
    for await (const b of container.listBlobsFlat({ prefix: `${orgId}/` })) after.set(b.name, { etag: b.properties.etag, lastModified: b.properties.lastModified });
    expect(after).toEqual(before);

    // Prove the records really depend on v2 only: disable v1, read everything with a cold cache.
    await fixture.keys.updateKeyProperties(v1.name, v1.properties.version ?? '', { enabled: false });
    const cold = buildStore(fixture, { table, kek: ref }).store;
    for (const [name, { sandbox, data }] of objects) {
      const objectId = name.split('/')[2] ?? '';
      expect((await readAll(await cold.get({ orgId, sandbox }, objectId))).equals(data)).toBe(true);
    }
  });

  it('is idempotent: a second run changes nothing', async () => {
    const { key, ref } = await fixture.newKek();
    const orgId = uniqueOrg();
    const { hierarchy } = buildStore(fixture, { table, kek: ref });
    await hierarchy.rootKey({ orgId, sandbox: 'prod' });
    const to = { ...ref, version: key.properties.version ?? '' };
    const rows = await rowsOf(orgId);
    const result = await rewrapRootKeys({ tables: table, vault: fixture.vault, clock: new ManualClock() }, { orgId, to });
    expect(result).toMatchObject({ rewrapped: 0, unchanged: 1 });
    expect((await rowsOf(orgId))[0]?.etag).toBe(rows[0]?.etag);
  });

  it('makes at most one vault round trip for records already under the current version of an unversioned `to`', async () => {
    const { ref } = await fixture.newKek();
    const orgId = uniqueOrg();
    const { hierarchy } = buildStore(fixture, { table, kek: ref });
    for (const sandbox of ['a', 'b', 'c', 'd']) await hierarchy.rootKey({ orgId, sandbox });
    const before = await rowsOf(orgId);
    fixture.stack.vault.resetRequestCounts();
    const result = await rewrapRootKeys({ tables: table, vault: fixture.vault, clock: new ManualClock() }, { orgId, to: ref });
    expect(result).toMatchObject({ rewrapped: 0, unchanged: 4, skipped: 0 });
    // The first wrap names the current version; every later record is compared with it, no call.
    expect(fixture.stack.vault.requestCounts()).toMatchObject({ unwrapKey: 1, wrapKey: 1 });
    expect((await rowsOf(orgId)).map((r) => r.etag)).toEqual(before.map((r) => r.etag));
  });

  it('moves root keys to a different KEK (as a customer key would), resumable after an interruption', async () => {
    const from = (await fixture.newKek()).ref;
    const { key: toKey, ref: to } = await fixture.newKek();
    const orgId = uniqueOrg();
    const { store } = buildStore(fixture, { table, kek: from });
    const sandboxes = ['a1', 'b2', 'c3', 'd4'];
    for (const sandbox of sandboxes) await store.put({ orgId, sandbox }, 'x', Readable.from([Buffer.from(sandbox)]));
    const deps = { tables: table, vault: fixture.vault, clock: new ManualClock() };

    // Interrupted after two sandboxes (e.g. the reconciler's instance was recycled).
    const controller = new AbortController();
    let settled = 0;
    await expect(
      rewrapRootKeys(deps, {
        orgId,
        to,
        signal: controller.signal,
        onProgress: () => {
          if (++settled === 2) controller.abort();
        },
      }),
    ).rejects.toThrow();
    const mid = await rowsOf(orgId);
    expect(mid.filter((r) => r.kekName === to.name).map((r) => r.rowKey)).toEqual(['a1', 'b2']);
    expect(mid.filter((r) => r.kekName === from.name).map((r) => r.rowKey)).toEqual(['c3', 'd4']);
    // Every record is wholly old or wholly new, so everything still reads mid-way.
    const cold = buildStore(fixture, { table, kek: to }).store;
    for (const sandbox of sandboxes) expect((await readAll(await cold.get({ orgId, sandbox }, 'x'))).toString()).toBe(sandbox);

    const resumed = await rewrapRootKeys(deps, { orgId, to, after: { orgId, sandbox: 'b2' } });
    expect(resumed).toMatchObject({ rewrapped: 2, unchanged: 0 });
    for (const row of await rowsOf(orgId)) {
      expect(row.kekName).toBe(to.name);
      expect(row.kekVersion).toBe(toKey.properties.version);
    }
  });

  it('fails with KEK_DISABLED and leaves the record as it was when its current KEK cannot unwrap', async () => {
    const { ref: from } = await fixture.newKek();
    const { key: current, ref: to } = await fixture.newKek();
    const orgId = uniqueOrg();
    const deps = { tables: table, vault: fixture.vault, clock: new ManualClock() };
    await buildStore(fixture, { table, kek: from }).hierarchy.rootKey({ orgId, sandbox: 'prod' });
    await rewrapRootKeys(deps, { orgId, to });
    const before = await rowsOf(orgId);
    await fixture.keys.updateKeyProperties(current.name, current.properties.version ?? '', { enabled: false });
    await expectCode(rewrapRootKeys(deps, { orgId, to: from }), 'KEK_DISABLED');
    const after = await rowsOf(orgId);
    expect(after[0]?.kekName).toBe(to.name);
    expect(after[0]?.etag).toBe(before[0]?.etag);
  });

  describe('onlyUnder', () => {
    it('re-wraps only the records under the given key (any version), skipping and never calling any other KEK', async () => {
      const { key: v1, ref: system } = await fixture.newKek();
      const { ref: customer } = await fixture.newKek();
      const orgId = uniqueOrg();
      const cmkOrg = uniqueOrg();
      const systemStore = buildStore(fixture, { table, kek: system });
      await systemStore.hierarchy.rootKey({ orgId, sandbox: 'prod' });
      await systemStore.hierarchy.rootKey({ orgId, sandbox: 'dev' });
      await buildStore(fixture, { table, kek: customer }).hierarchy.rootKey({ orgId: cmkOrg, sandbox: 'prod' });
      const cmkBefore = await rowsOf(cmkOrg);
      const v2 = (await fixture.keys.createRsaKey(v1.name, { keySize: 3072, keyOps: ['wrapKey', 'unwrapKey'] })).properties.version ?? '';
      expect(v2).not.toBe(v1.properties.version);

      const deps = { tables: table, vault: countingCalls(fixture.vault), clock: new ManualClock() };
      // A version in `onlyUnder` is ignored: v1 records are under the same key.
      const onlyUnder = { ...system, version: v2 };
      const results = [];
      for (const org of [orgId, cmkOrg]) results.push(await rewrapRootKeys(deps, { orgId: org, to: { ...system, version: v2 }, onlyUnder }));
      expect(results).toEqual([
        { rewrapped: 2, unchanged: 0, skipped: 0, last: { orgId, sandbox: 'prod' } },
        { rewrapped: 0, unchanged: 0, skipped: 1, last: { orgId: cmkOrg, sandbox: 'prod' } },
      ]);
      for (const row of await rowsOf(orgId)) expect([row.kekName, row.kekVersion]).toEqual([system.name, v2]);
      expect(await rowsOf(cmkOrg)).toEqual(cmkBefore);
      expect(deps.vault.keksUsed().filter((name) => name !== system.name)).toEqual([]);

      // Without onlyUnder the same call would pull the customer-key org over to the system key.
      const unfiltered = await rewrapRootKeys({ ...deps, vault: fixture.vault }, { orgId: cmkOrg, to: { ...system, version: v2 } });
      expect(unfiltered).toMatchObject({ rewrapped: 1, skipped: 0 });
    });

    it('skips a record that moved to another KEK while it was being re-wrapped (lost race, re-read)', async () => {
      const { key: v1, ref: system } = await fixture.newKek();
      const { ref: customer } = await fixture.newKek();
      const orgId = uniqueOrg();
      await buildStore(fixture, { table, kek: system }).hierarchy.rootKey({ orgId, sandbox: 'prod' });
      const v2 = (await fixture.keys.createRsaKey(v1.name, { keySize: 3072, keyOps: ['wrapKey', 'unwrapKey'] })).properties.version ?? '';
      const clock = new ManualClock();
      // A concurrent CMK move settles the record between this run's unwrap and its conditional write.
      const racing: KekClient = {
        unwrapKey: async (kek, wrapped) => {
          const key = await fixture.vault.unwrapKey(kek, wrapped);
          await rewrapRootKeys({ tables: table, vault: fixture.vault, clock }, { orgId, to: customer });
          return key;
        },
        wrapKey: (kek, key) => fixture.vault.wrapKey(kek, key),
      };
      const result = await rewrapRootKeys({ tables: table, vault: racing, clock }, { orgId, to: { ...system, version: v2 }, onlyUnder: system });
      expect(result).toMatchObject({ rewrapped: 0, unchanged: 0, skipped: 1 });
      expect((await rowsOf(orgId))[0]?.kekName).toBe(customer.name);
    });
  });
});

/** The real KEK client, remembering the name of every KEK it was asked to use. */
function countingCalls(vault: KekClient): KekClient & { keksUsed(): string[] } {
  const used: string[] = [];
  return {
    wrapKey: (kek, key) => {
      used.push(kek.name);
      return vault.wrapKey(kek, key);
    },
    unwrapKey: (kek, wrapped) => {
      used.push(kek.name);
      return vault.unwrapKey(kek, wrapped);
    },
    keksUsed: () => [...used],
  };
}
