import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followSystemKekRotation, type FollowSystemKekDeps } from '../../shared/vault/follow-system-kek.js';
import type { KekRef } from '../../shared/vault/key-vault-key-id.js';
import {
  ManualClock,
  buildStore,
  expectCode,
  readAll,
  startVaultFixture,
  uniqueOrg,
  type VaultFixture,
} from './support.js';

let fixture: VaultFixture;

beforeAll(async () => {
  fixture = await startVaultFixture();
});

afterAll(async () => {
  await fixture?.stop();
});

async function rowsOf(table: TableClient, orgId: string) {
  const rows = [];
  for await (const row of table.listEntities<Record<string, unknown>>({
    queryOptions: { filter: `PartitionKey eq '${orgId}'` },
  }))
    rows.push(row);
  return rows;
}

function depsFor(table: TableClient, systemKek: KekRef): FollowSystemKekDeps {
  return {
    rootKeys: table,
    vault: fixture.vault,
    readKey: (key) => fixture.keys.getKey(key.name),
    clock: new ManualClock(),
    systemKek,
  };
}

/** Key operations the emulator served since the last reset (the SDK's unauthenticated challenge requests left out). */
function keyCalls(): { get: number; unwrapKey: number; wrapKey: number } {
  const counts = fixture.stack.vault.requestCounts();
  return { get: counts.get ?? 0, unwrapKey: counts.unwrapKey ?? 0, wrapKey: counts.wrapKey ?? 0 };
}

async function newVersion(name: string): Promise<string> {
  const version = (await fixture.keys.createRsaKey(name, { keySize: 3072, keyOps: ['wrapKey', 'unwrapKey'] }))
    .properties.version;
  if (version === undefined) throw new Error('the emulator answered a key without a version');
  return version;
}

describe('followSystemKekRotation', () => {
  it('moves every system-key root key to the new version, touching no object and no customer-key org', async () => {
    const table = await fixture.newTable();
    const { key: v1, ref: system } = await fixture.newKek();
    // A second key in the emulator stands in for an org's customer key.
    const { ref: customer } = await fixture.newKek();
    const orgId = uniqueOrg();
    const cmkOrg = uniqueOrg();
    const container = `objects${randomBytes(4).toString('hex')}`;
    const systemStore = buildStore(fixture, { table, kek: system, container }).store;
    const customerStore = buildStore(fixture, { table, kek: customer, container }).store;
    const objects: { orgId: string; sandbox: string; id: string; data: Buffer }[] = [];
    for (const [store, org, sandbox] of [
      [systemStore, orgId, 'prod'],
      [systemStore, orgId, 'dev'],
      [customerStore, cmkOrg, 'prod'],
    ] as const) {
      for (const id of ['a', 'b']) {
        const data = randomBytes(3000);
        await store.put({ orgId: org, sandbox }, id, Readable.from([data]));
        objects.push({ orgId: org, sandbox, id, data });
      }
    }
    const blobs = fixture.blobs.getContainerClient(container);
    const etags = async () => {
      const map = new Map<string, string | undefined>();
      for await (const b of blobs.listBlobsFlat()) map.set(b.name, b.properties.etag);
      return map;
    };
    const blobsBefore = await etags();
    expect(blobsBefore.size).toBe(6);
    const cmkRowsBefore = await rowsOf(table, cmkOrg);

    // The operator rotates the system key in Key Vault.
    const v2 = await newVersion(system.name);
    fixture.stack.vault.resetRequestCounts();
    const deps = depsFor(table, system);
    expect(await followSystemKekRotation(deps)).toEqual({ rewrapped: 2, unchanged: 0, skipped: 1 });
    // One read of the key, then one unwrap and one wrap per system-key sandbox: nothing per object.
    expect(keyCalls()).toEqual({ get: 1, unwrapKey: 2, wrapKey: 2 });

    const systemRows = await rowsOf(table, orgId);
    expect(systemRows.map((r) => [r.rowKey, r.kekName, r.kekVersion])).toEqual([
      ['dev', system.name, v2],
      ['prod', system.name, v2],
    ]);
    expect(await rowsOf(table, cmkOrg)).toEqual(cmkRowsBefore);
    expect(await etags()).toEqual(blobsBefore);

    // A second run has nothing to do: no wrap or unwrap call, nothing written.
    fixture.stack.vault.resetRequestCounts();
    expect(await followSystemKekRotation(deps)).toEqual({ rewrapped: 0, unchanged: 2, skipped: 1 });
    expect(keyCalls()).toEqual({ get: 1, unwrapKey: 0, wrapKey: 0 });
    expect((await rowsOf(table, orgId)).map((r) => r.etag)).toEqual(systemRows.map((r) => r.etag));

    // The old version can go: with it disabled, every object still reads (cold caches).
    await fixture.keys.updateKeyProperties(v1.name, v1.properties.version ?? '', { enabled: false });
    const cold = {
      [orgId]: buildStore(fixture, { table, kek: system, container }).store,
      [cmkOrg]: buildStore(fixture, { table, kek: customer, container }).store,
    };
    for (const { orgId: org, sandbox, id, data } of objects) {
      const store = cold[org];
      if (store === undefined) throw new Error(org);
      expect(
        (await readAll(await store.get({ orgId: org, sandbox }, id))).equals(data),
        `${org}/${sandbox}/${id}`,
      ).toBe(true);
    }
    expect(await etags()).toEqual(blobsBefore);
  });

  it('refuses with KEK_DISABLED and moves nothing when the current version is disabled', async () => {
    const table = await fixture.newTable();
    const { ref: system } = await fixture.newKek();
    const orgId = uniqueOrg();
    await buildStore(fixture, { table, kek: system }).hierarchy.rootKey({ orgId, sandbox: 'prod' });
    const before = await rowsOf(table, orgId);
    const v2 = await newVersion(system.name);
    await fixture.keys.updateKeyProperties(system.name, v2, { enabled: false });
    await expectCode(followSystemKekRotation(depsFor(table, system)), 'KEK_DISABLED');
    expect(await rowsOf(table, orgId)).toEqual(before);
  });

  it('has nothing to do before the first root key exists (no rootkeys table yet)', async () => {
    const { ref: system } = await fixture.newKek();
    const table = TableClient.fromConnectionString(
      fixture.stack.azurite.connectionString,
      `rootkeys${randomBytes(6).toString('hex')}`,
      {
        allowInsecureConnection: true,
      },
    );
    expect(await followSystemKekRotation(depsFor(table, system))).toEqual({ rewrapped: 0, unchanged: 0, skipped: 0 });
  });
});
