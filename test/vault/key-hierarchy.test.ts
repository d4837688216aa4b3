import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyHierarchy } from '../../shared/vault/key-hierarchy.js';
import type { KekRef } from '../../shared/vault/key-vault-key-id.js';
import { systemRandom } from '../../shared/core/random.js';
import { ensureSystemKek } from '../../shared/vault/system-kek.js';
import { ManualClock, buildStore, readAll, startVaultFixture, uniqueName, uniqueOrg, type VaultFixture } from './support.js';

let fixture: VaultFixture;
let table: TableClient;
let kek: KekRef;

beforeAll(async () => {
  fixture = await startVaultFixture();
  table = await fixture.newTable();
  kek = (await fixture.newKek()).ref;
});

afterAll(async () => {
  await fixture?.stop();
});

async function recordsOf(orgId: string) {
  const rows = [];
  for await (const row of table.listEntities<Record<string, unknown>>({ queryOptions: { filter: `PartitionKey eq '${orgId}'` } })) rows.push(row);
  return rows;
}

describe('key hierarchy', () => {
  it('keeps one root key per sandbox, stored only wrapped, beside the KEK version that wrapped it', async () => {
    const { hierarchy } = buildStore(fixture, { table, kek });
    const orgId = uniqueOrg();
    const a = await hierarchy.rootKey({ orgId, sandbox: 'prod' });
    const b = await hierarchy.rootKey({ orgId, sandbox: 'dev' });
    expect(a.length).toBe(32);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    const rows = await recordsOf(orgId);
    expect(rows.map((r) => r.rowKey).sort()).toEqual(['dev', 'prod']);
    const latest = await fixture.keys.getKey(kek.name);
    for (const row of rows) {
      expect(row.kekKeyId).toBe(`${kek.vaultUrl}/keys/${kek.name}/${latest.properties.version}`);
      expect(row.kekVersion).toBe(latest.properties.version);
      expect(row.kekName).toBe(kek.name);
      expect(row.kekVaultUrl).toBe(kek.vaultUrl);
      expect(row.wrapAlgorithm).toBe('RSA-OAEP-256');
      expect(Buffer.from(String(row.wrappedKey), 'base64').length).toBe(384); // RSA-3072 ciphertext
      expect(String(row.wrappedKey)).not.toContain(Buffer.from(a).toString('base64'));
    }
  });

  it('agrees on one root key when instances race on first use (insert-if-absent)', async () => {
    const orgId = uniqueOrg();
    const scope = { orgId, sandbox: 'prod' };
    // Separate hierarchies = separate processes: no shared cache or in-flight load.
    const instances = Array.from({ length: 6 }, () => buildStore(fixture, { table, kek }).hierarchy);
    const keys = await Promise.all(instances.flatMap((h) => [h.rootKey(scope), h.rootKey(scope)]));
    const distinct = new Set(keys.map((k) => Buffer.from(k).toString('hex')));
    expect(distinct.size).toBe(1);
    expect(await recordsOf(orgId)).toHaveLength(1);
  });

  it('reads what another instance wrote under the same sandbox root key', async () => {
    const scope = { orgId: uniqueOrg(), sandbox: 'prod' };
    const data = randomBytes(10_000);
    await buildStore(fixture, { table, kek }).store.put(scope, 'shared', Readable.from([data]));
    expect((await readAll(await buildStore(fixture, { table, kek }).store.get(scope, 'shared'))).equals(data)).toBe(true);
  });

  it('uses the resolver only for new root keys; existing ones keep their recorded KEK', async () => {
    const other = (await fixture.newKek()).ref;
    const orgId = uniqueOrg();
    await buildStore(fixture, { table, kek }).hierarchy.rootKey({ orgId, sandbox: 'prod' });
    const resolved: string[] = [];
    const hierarchy = createKeyHierarchy({
      tables: table,
      vault: fixture.vault,
      clock: new ManualClock(),
      random: systemRandom,
      resolveKek: (org) => {
        resolved.push(org);
        return Promise.resolve(other);
      },
    });
    await hierarchy.rootKey({ orgId, sandbox: 'prod' });
    await hierarchy.rootKey({ orgId, sandbox: 'dev' });
    expect(resolved).toEqual([orgId]);
    const rows = await recordsOf(orgId);
    expect(rows.find((r) => r.rowKey === 'prod')?.kekName).toBe(kek.name);
    expect(rows.find((r) => r.rowKey === 'dev')?.kekName).toBe(other.name);
  });
});

describe('ensureSystemKek', () => {
  it('creates an RSA-3072 wrap/unwrap-only key in local mode, once', async () => {
    const name = uniqueName('system-kek');
    const ref = await ensureSystemKek({ keys: fixture.keys }, { name, environment: 'local' });
    expect(ref).toEqual({ vaultUrl: fixture.stack.vault.url, name });
    const key = await fixture.keys.getKey(name);
    expect(key.key?.n?.length).toBe(384);
    expect(key.keyOperations).toEqual(['wrapKey', 'unwrapKey']);
    await ensureSystemKek({ keys: fixture.keys }, { name, environment: 'local' });
    const versions = [];
    for await (const v of fixture.keys.listPropertiesOfKeyVersions(name)) versions.push(v);
    expect(versions).toHaveLength(1);
  });

  it('never creates a key in production', async () => {
    const name = uniqueName('prod-kek');
    fixture.stack.vault.resetRequestCounts();
    await ensureSystemKek({ keys: fixture.keys }, { name, environment: 'production' });
    expect(fixture.stack.vault.requestCounts().create).toBeUndefined();
  });

  it('refuses an existing local key that is too small to be a KEK', async () => {
    const name = uniqueName('small-kek');
    await fixture.keys.createRsaKey(name, { keySize: 2048 });
    await expect(ensureSystemKek({ keys: fixture.keys }, { name, environment: 'local' })).rejects.toThrow(/3072/);
  });
});
