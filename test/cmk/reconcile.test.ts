import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../shared/auth/tenant.js';
import { createByokConfig, deleteByokConfig, getByokConfig } from '../../shared/cmk/configs.js';
import { ORG_KEYS_TABLE, readOrgKeyState } from '../../shared/cmk/org-key-state.js';
import { reconcileByokConfigs, type ReconcileDeps } from '../../shared/cmk/reconcile.js';
import { resumeWaitingFiles } from '../../shared/cmk/resume-waiting-files.js';
import { createRevocationGate } from '../../shared/cmk/revocation-gate.js';
import { customerKekResolver } from '../../shared/cmk/customer-kek-resolver.js';
import { guardCustomerKek } from '../../shared/cmk/customer-kek-guard.js';
import { listWaitingFiles, recordWaitingFile, WAITING_FILES_TABLE } from '../../shared/cmk/waiting-files.js';
import { AppError } from '../../shared/errors.js';
import { createEncryptedObjectStore } from '../../shared/storage/encrypted-object-store.js';
import { createTableFactory, type TableFactory } from '../../shared/storage/tenant-table.js';
import { systemClock } from '../../shared/core/clock.js';
import type { KekClient } from '../../shared/vault/kek-client.js';
import { createKeyHierarchy } from '../../shared/vault/key-hierarchy.js';
import { sameKey, type KekRef } from '../../shared/vault/key-vault-key-id.js';
import { systemRandom } from '../../shared/core/random.js';
import { TableClient } from '@azure/data-tables';
import type { KeyVaultKey } from '@azure/keyvault-keys';
import { expectCode, readAll, startVaultFixture, uniqueName, type VaultFixture } from '../vault/support.js';

function tenant(orgId: string): Tenant {
  return { orgId, sandbox: 'prod', clientId: 'test', subject: 'test' };
}

describe('the CMK reconciler (Azurite + Key Vault emulator, in process)', () => {
  let fx: VaultFixture;
  let tables: TableFactory;

  beforeAll(async () => {
    fx = await startVaultFixture();
    const conn = fx.stack.azurite.connectionString;
    tables = createTableFactory((name) => TableClient.fromConnectionString(conn, name, { allowInsecureConnection: true }));
  });
  afterAll(async () => fx?.stop());

  // Every key below lives in one emulator, which plays the customer's vault: no operator vault.
  const ownership = { operatorVaults: [], graceDays: 30 };
  const readKey = (k: { name: string }) => fx.keys.getKey(k.name);
  const configDeps = () => ({ tables, clock: systemClock, allowLoopback: true, ownership, readKey });
  /** A fresh customer key whose owner tagged it for `orgId`, the proof submission and the reconciler ask for. */
  async function ownedKek(orgId: string) {
    const kek = await fx.newKek();
    const key = await fx.keys.updateKeyProperties(kek.key.name, { tags: { 'cipherflow-org': orgId } });
    return { ...kek, key };
  }

  async function createConfig(orgId: string, name: string, keyVaultKeyIdentifier: string) {
    return createByokConfig(configDeps(), tenant(orgId), {
      name,
      type: 'BYOK_CONFIG',
      imsOrgId: orgId,
      configData: { providerType: 'AZURE_KEYVAULT', keyVaultKeyIdentifier },
    });
  }

  /**
   * An org with root keys for `sandboxes` under its own system KEK, the data path the app builds
   * (guard, resolver, gate), and a config `cfg` on a fresh customer key. `hierarchy()` gives a new,
   * empty-cached data path, whose reads reach the vault.
   */
  async function setupOrg(orgId: string, sandboxes: readonly string[], options: { readonly vault?: KekClient } = {}) {
    const system = await fx.newKek();
    const rootKeys = await fx.newTable();
    const orgs = await tables(ORG_KEYS_TABLE);
    const hierarchy = () =>
      createKeyHierarchy({
        tables: rootKeys,
        vault: guardCustomerKek(fx.vault, (kek) => !sameKey(kek, system.ref)),
        clock: systemClock,
        random: systemRandom,
        resolveKek: customerKekResolver({ tables: orgs, system: () => Promise.resolve<KekRef>(system.ref) }),
        gate: createRevocationGate({ tables: orgs, clock: systemClock, refreshMs: 0 }),
        cacheTtlSeconds: 300,
      });
    const keys = hierarchy();
    const original = new Map<string, Buffer>();
    for (const sandbox of sandboxes) original.set(sandbox, Buffer.from(await keys.rootKey({ orgId, sandbox })));
    const cmk = await ownedKek(orgId);
    const deps: ReconcileDeps = {
      tables,
      rootKeys,
      vault: options.vault ?? fx.vault,
      readKey,
      clock: systemClock,
      random: systemRandom,
      ownership,
      unreachableGiveUpMinutes: 60,
    };
    await createConfig(orgId, 'cfg', cmk.key.id ?? '');
    return { keys, hierarchy, original, system, cmk, deps, rootKeys };
  }

  const view = (orgId: string, name = 'cfg') => getByokConfig(configDeps(), tenant(orgId), name);
  const principal = () => fx.stack.vault.systemAssignedIdentity.principalId;

  async function records(rootKeys: TableClient, orgId: string) {
    const out: { sandbox: string; kekName: string; kekVersion: string }[] = [];
    for await (const e of rootKeys.listEntities<{ kekName: string; kekVersion: string }>({ queryOptions: { filter: `PartitionKey eq '${orgId}'` } })) {
      out.push({ sandbox: e.rowKey ?? '', kekName: e.kekName, kekVersion: e.kekVersion });
    }
    return out;
  }

  /** Every root key of the org unwraps, through a fresh data path (at the vault), to the bytes it had under the system KEK. */
  async function expectReadable(hierarchy: () => ReturnType<typeof createKeyHierarchy>, orgId: string, original: ReadonlyMap<string, Buffer>) {
    const fresh = hierarchy();
    for (const [sandbox, bytes] of original) expect(Buffer.from(await fresh.rootKey({ orgId, sandbox })).equals(bytes), sandbox).toBe(true);
  }

  it('lets only one of two concurrent reconcilers advance a config, each sandbox re-wrapped once', async () => {
    const org = 'CF00RACE01@AdobeOrg';
    const { deps, cmk } = await setupOrg(org, ['a', 'b', 'c', 'd']);
    fx.stack.vault.resetRequestCounts();
    await Promise.all([reconcileByokConfigs(deps), reconcileByokConfigs(deps)]);
    // The loser of a race stops for this cycle; the next cycle finds the config done.
    await reconcileByokConfigs(deps);
    const done = await view(org);
    expect(done.status).toBe('COMPLETED');
    expect(done.history.map((h) => h.status)).toEqual(['NEW', 'RUNNING', 'UPDATE_EXISTING_RESOURCES', 'COMPLETED']);
    expect(done.activeKeyVersion).toBe(cmk.key.properties.version);
    // One validation round trip plus one wrap per sandbox.
    // One validation round trip plus one wrap per sandbox; the losing reconciler may already have
    // sent one wrap before its conditional write lost (its result is never written: the history
    // above shows each state once), so at most one more.
    const wraps = fx.stack.vault.requestCounts().wrapKey ?? 0;
    expect(wraps).toBeGreaterThanOrEqual(1 + 4);
    expect(wraps).toBeLessThanOrEqual(1 + 4 + 1);
  });

  // The three ways a customer takes our access away, each undone the way the customer would.
  const revocations = [
    {
      how: 'role removed',
      org: 'CF00GATE01@AdobeOrg',
      code: 'KEY_ACCESS_DENIED',
      revoke: (key: KeyVaultKey) => fx.stack.vault.revokeAccess(principal(), key.name),
      restore: (key: KeyVaultKey) => fx.stack.vault.restoreAccess(principal(), key.name),
    },
    {
      how: 'key disabled',
      org: 'CF00GATE02@AdobeOrg',
      code: 'KEY_DISABLED',
      revoke: async (key: KeyVaultKey) => void (await fx.keys.updateKeyProperties(key.name, key.properties.version ?? '', { enabled: false })),
      restore: async (key: KeyVaultKey) => void (await fx.keys.updateKeyProperties(key.name, key.properties.version ?? '', { enabled: true })),
    },
    {
      how: 'key deleted',
      org: 'CF00GATE03@AdobeOrg',
      code: 'KEY_NOT_FOUND',
      revoke: async (key: KeyVaultKey) => void (await (await fx.keys.beginDeleteKey(key.name, { intervalInMs: 50 })).pollUntilDone()),
      restore: async (key: KeyVaultKey) => void (await (await fx.keys.beginRecoverDeletedKey(key.name, { intervalInMs: 50 })).pollUntilDone()),
    },
  ] as const;

  it.each(revocations)('fails the org closed with CMK_ACCESS_REVOKED on cached keys once revoked ($how), and reopens it on restore', async ({ org, code, revoke, restore }) => {
    const { deps, keys, hierarchy, original, cmk } = await setupOrg(org, ['prod']);
    await reconcileByokConfigs(deps);
    expect((await view(org)).status).toBe('COMPLETED');
    await keys.rootKey({ orgId: org, sandbox: 'prod' });

    await revoke(cmk.key);
    await reconcileByokConfigs(deps);
    const revoked = await view(org);
    expect(revoked).toMatchObject({ status: 'KEY_ACCESS_REVOKED', failure: { code } });
    expect((await readOrgKeyState(await tables(ORG_KEYS_TABLE), org))).toMatchObject({ access: 'KEY_ACCESS_REVOKED', reason: code });
    // The root key is still cached (TTL 300 s), yet the gate refuses it; an uncached read too.
    await expectCode(keys.rootKey({ orgId: org, sandbox: 'prod' }), 'CMK_ACCESS_REVOKED');
    await expectCode(hierarchy().rootKey({ orgId: org, sandbox: 'prod' }), 'CMK_ACCESS_REVOKED');

    await restore(cmk.key);
    await reconcileByokConfigs(deps);
    const restored = await view(org);
    expect(restored.status).toBe('COMPLETED');
    expect(restored.failure).toBeUndefined();
    expect(restored.history.map((h) => h.status)).toEqual(['NEW', 'RUNNING', 'UPDATE_EXISTING_RESOURCES', 'COMPLETED', 'KEY_ACCESS_REVOKED', 'COMPLETED']);
    await expect(keys.rootKey({ orgId: org, sandbox: 'prod' })).resolves.toHaveLength(32);
    await expectReadable(hierarchy, org, original);
  });

  it('tells an unreachable vault from a revoked key: KEY_VAULT_UNREACHABLE keeps the org open', async () => {
    const org = 'CF00DOWN01@AdobeOrg';
    const { deps, keys } = await setupOrg(org, ['prod']);
    await reconcileByokConfigs(deps);
    fx.stack.vault.injectFault({ kind: 'status', status: 503, count: 10, operations: ['get'] });
    await reconcileByokConfigs(deps);
    fx.stack.vault.clearFaults();
    const down = await view(org);
    expect(down).toMatchObject({ status: 'KEY_VAULT_UNREACHABLE', failure: { code: 'KEY_VAULT_UNREACHABLE' } });
    await expect(keys.rootKey({ orgId: org, sandbox: 'prod' })).resolves.toHaveLength(32);
    await reconcileByokConfigs(deps);
    expect((await view(org)).status).toBe('COMPLETED');
  });

  it('creates the root key of a sandbox added after COMPLETED under the customer key', async () => {
    const org = 'CF00NEWSB1@AdobeOrg';
    const { deps, keys, cmk, rootKeys } = await setupOrg(org, ['prod']);
    await reconcileByokConfigs(deps);
    await keys.rootKey({ orgId: org, sandbox: 'later' });
    const record = await rootKeys.getEntity<{ kekName: string }>(org, 'later');
    expect(record.kekName).toBe(cmk.key.name);
  });

  it('keeps a config whose key is revoked mid-move in UPDATE_EXISTING_RESOURCES with the failure, fails the org closed, and completes the move once access returns', async () => {
    const org = 'CF00MIDREV@AdobeOrg';
    const { deps, keys, hierarchy, original, cmk, rootKeys } = await setupOrg(org, ['sb-a', 'sb-b', 'sb-c']);
    const waiting = await tables(WAITING_FILES_TABLE);
    // A file in sb-c's landing zone (its container names the zone; the blob name is relative).
    const late = { orgId: org, container: 'dlz-sbcmidrevokedzoneaaaaaaaaa', blobName: 'incoming/late.csv.gpg', etag: '0x8DE2A1B3C4D5E6F' };
    await recordWaitingFile(waiting, late, new Date());
    const ingested: string[] = [];
    let revoked = false;
    const run: ReconcileDeps = {
      ...deps,
      // The customer removes our role once the first sandbox is re-wrapped.
      onSandboxSettled: async () => {
        if (revoked) return;
        revoked = true;
        await fx.stack.vault.revokeAccess(principal(), cmk.key.name);
      },
      // As the app's ingestion does: a file whose key refuses waits, otherwise it is ingested.
      resumeWaitingFiles: async (orgId) => {
        await resumeWaitingFiles(
          {
            table: waiting,
            ingest: async (file) => {
              try {
                await hierarchy().rootKey({ orgId, sandbox: 'sb-c' });
              } catch (err) {
                if (err instanceof AppError && err.code === 'CMK_ACCESS_REVOKED') return 'waiting';
                throw err;
              }
              ingested.push(`${file.container}/${file.blobName}@${file.etag ?? ''}`);
              return 'settled';
            },
          },
          orgId,
        );
      },
    };

    await reconcileByokConfigs(run);
    const stuck = await view(org);
    expect(stuck).toMatchObject({ status: 'UPDATE_EXISTING_RESOURCES', failure: { code: 'KEY_ACCESS_DENIED' }, progress: { sandboxesRewrapped: 1 } });
    expect(stuck.failure?.message).toMatch(/role/);
    expect(stuck.history.at(-1)).toMatchObject({ status: 'UPDATE_EXISTING_RESOURCES', event: 'REWRAP_REFUSED', code: 'KEY_ACCESS_DENIED' });
    expect(await readOrgKeyState(await tables(ORG_KEYS_TABLE), org)).toMatchObject({ configName: 'cfg', access: 'KEY_ACCESS_REVOKED', reason: 'KEY_ACCESS_DENIED' });
    // Half moved: sb-a under the customer key, the others still under the system KEK.
    expect((await records(rootKeys, org)).map((r) => r.kekName === cmk.key.name)).toEqual([true, false, false]);
    // Cleanly fail-closed: every sandbox, moved or not, cached or not.
    await expectCode(keys.rootKey({ orgId: org, sandbox: 'sb-b' }), 'CMK_ACCESS_REVOKED');
    await expectCode(hierarchy().rootKey({ orgId: org, sandbox: 'sb-a' }), 'CMK_ACCESS_REVOKED');
    // The org is already (half) on its customer key: no way back.
    await expectCode(deleteByokConfig(configDeps(), tenant(org), 'cfg'), 'CMK_IRREVERSIBLE');

    // Still refused: retried, nothing moves, the history does not grow each cycle.
    await reconcileByokConfigs(run);
    const still = await view(org);
    expect(still).toMatchObject({ status: 'UPDATE_EXISTING_RESOURCES', failure: { code: 'KEY_ACCESS_DENIED' } });
    expect(still.history).toHaveLength(stuck.history.length);
    expect(await listWaitingFiles(waiting, org)).toHaveLength(1);

    await fx.stack.vault.restoreAccess(principal(), cmk.key.name);
    await reconcileByokConfigs(run);
    const done = await view(org);
    expect(done.status).toBe('COMPLETED');
    expect(done.failure).toBeUndefined();
    expect(done.history.map((h) => h.event ?? h.status)).toEqual(['NEW', 'RUNNING', 'UPDATE_EXISTING_RESOURCES', 'REWRAP_REFUSED', 'COMPLETED']);
    for (const r of await records(rootKeys, org)) expect(r).toMatchObject({ kekName: cmk.key.name, kekVersion: done.activeKeyVersion });
    expect(await readOrgKeyState(await tables(ORG_KEYS_TABLE), org)).toMatchObject({ configName: 'cfg', access: 'GRANTED' });
    expect((await readOrgKeyState(await tables(ORG_KEYS_TABLE), org))?.reason).toBeUndefined();
    // The version that waited, where it waited.
    expect(ingested).toEqual([`${late.container}/${late.blobName}@${late.etag}`]);
    expect(await listWaitingFiles(waiting, org)).toHaveLength(0);
    await expectReadable(hierarchy, org, original);
  });

  it("reports our system KEK's refusal mid-move as SYSTEM_KEY_REFUSED, never as the customer's KEY_ACCESS_DENIED, and keeps the org open", async () => {
    const org = 'CF00SYSREF@AdobeOrg';
    const { deps, hierarchy, original, system, cmk, rootKeys } = await setupOrg(org, ['sb-a', 'sb-b']);
    let revoked = false;
    const run: ReconcileDeps = {
      ...deps,
      onSandboxSettled: async () => {
        if (revoked) return;
        revoked = true;
        await fx.stack.vault.revokeAccess(principal(), system.key.name);
      },
    };
    try {
      await reconcileByokConfigs(run);
      const stuck = await view(org);
      expect(stuck).toMatchObject({ status: 'UPDATE_EXISTING_RESOURCES', failure: { code: 'SYSTEM_KEY_REFUSED' } });
      expect(await readOrgKeyState(await tables(ORG_KEYS_TABLE), org)).toMatchObject({ access: 'GRANTED' });
      // The sandbox already under the customer key stays readable.
      await expect(hierarchy().rootKey({ orgId: org, sandbox: 'sb-a' })).resolves.toHaveLength(32);
    } finally {
      await fx.stack.vault.restoreAccess(principal(), system.key.name);
    }
    await reconcileByokConfigs(run);
    const done = await view(org);
    expect(done.status).toBe('COMPLETED');
    for (const r of await records(rootKeys, org)) expect(r.kekName).toBe(cmk.key.name);
    await expectReadable(hierarchy, org, original);
  });

  it('moves a COMPLETED org to a second customer key with a new config; the first config is no longer watched', async () => {
    const org = 'CF00MOVE02@AdobeOrg';
    const { deps, keys, hierarchy, original, cmk, rootKeys } = await setupOrg(org, ['prod', 'dev']);
    const container = uniqueName('objects');
    const document = Buffer.from('ingested before any customer key');
    await createEncryptedObjectStore({ blobs: fx.blobs, keys, container }).put({ orgId: org, sandbox: 'prod' }, 'doc-1', Readable.from([document]));
    await reconcileByokConfigs(deps);
    expect((await view(org, 'cfg')).status).toBe('COMPLETED');

    const second = await ownedKek(org);
    await createConfig(org, 'cfg2', second.key.id ?? '');
    await reconcileByokConfigs(deps);
    const moved = await view(org, 'cfg2');
    expect(moved.status).toBe('COMPLETED');
    expect(moved.activeKeyVersion).toBe(second.key.properties.version);
    const all = await records(rootKeys, org);
    expect(all).toHaveLength(2);
    for (const r of all) expect(r).toMatchObject({ kekName: second.key.name, kekVersion: second.key.properties.version });
    expect(await readOrgKeyState(await tables(ORG_KEYS_TABLE), org)).toMatchObject({ configName: 'cfg2', keyName: second.key.name, access: 'GRANTED' });
    const read = async () => readAll(await createEncryptedObjectStore({ blobs: fx.blobs, keys: hierarchy(), container }).get({ orgId: org, sandbox: 'prod' }, 'doc-1'));
    expect((await read()).equals(document)).toBe(true);
    await expectReadable(hierarchy, org, original);

    // The first config is history: revoking its key changes nothing.
    await fx.stack.vault.revokeAccess(principal(), cmk.key.name);
    try {
      await reconcileByokConfigs(deps);
      expect((await view(org, 'cfg')).status).toBe('COMPLETED');
      expect((await view(org, 'cfg2')).status).toBe('COMPLETED');
      expect(await readOrgKeyState(await tables(ORG_KEYS_TABLE), org)).toMatchObject({ configName: 'cfg2', access: 'GRANTED' });
      expect((await read()).equals(document)).toBe(true);
    } finally {
      await fx.stack.vault.restoreAccess(principal(), cmk.key.name);
    }
    // Neither config can take the org back to system-managed keys.
    await expectCode(deleteByokConfig(configDeps(), tenant(org), 'cfg2'), 'CMK_IRREVERSIBLE');
    await expectCode(deleteByokConfig(configDeps(), tenant(org), 'cfg'), 'CMK_IRREVERSIBLE');
  });

  it('follows a customer key rotation within exactly one reconcile cycle', async () => {
    const org = 'CF00ROTATE@AdobeOrg';
    const { deps, hierarchy, original, cmk, rootKeys } = await setupOrg(org, ['prod', 'dev']);
    await reconcileByokConfigs(deps);
    expect((await view(org)).activeKeyVersion).toBe(cmk.key.properties.version);

    // A new version starts with the tags it is created with: the owner tags it again.
    const rotated = await fx.keys.createRsaKey(cmk.key.name, { keySize: 3072, keyOps: ['wrapKey', 'unwrapKey'], tags: { 'cipherflow-org': org } });
    const version = rotated.properties.version;
    expect(version).not.toBe(cmk.key.properties.version);
    await reconcileByokConfigs(deps);
    const after = await view(org);
    expect(after).toMatchObject({ status: 'COMPLETED', activeKeyVersion: version });
    expect(after.history.at(-1)).toMatchObject({ status: 'COMPLETED', event: 'KEY_ROTATED', keyVersion: version });
    const all = await records(rootKeys, org);
    expect(all).toHaveLength(2);
    for (const r of all) expect(r).toMatchObject({ kekName: cmk.key.name, kekVersion: version });
    await expectReadable(hierarchy, org, original);
  });

  it('reads the proof on the current version: a new version created without the tag fails the org with CMK_KEY_NOT_OWNED until it is tagged', async () => {
    const org = 'CF00ROTTAG@AdobeOrg';
    const { deps, hierarchy, cmk } = await setupOrg(org, ['prod']);
    await reconcileByokConfigs(deps);
    const untagged = await fx.keys.createRsaKey(cmk.key.name, { keySize: 3072, keyOps: ['wrapKey', 'unwrapKey'] });
    await reconcileByokConfigs(deps);
    expect(await view(org)).toMatchObject({ status: 'KEY_ACCESS_REVOKED', failure: { code: 'CMK_KEY_NOT_OWNED' }, activeKeyVersion: cmk.key.properties.version });
    await expectCode(hierarchy().rootKey({ orgId: org, sandbox: 'prod' }), 'CMK_ACCESS_REVOKED');
    await fx.keys.updateKeyProperties(cmk.key.name, untagged.properties.version ?? '', { tags: { 'cipherflow-org': org } });
    await reconcileByokConfigs(deps);
    expect(await view(org)).toMatchObject({ status: 'COMPLETED', activeKeyVersion: untagged.properties.version, ownership: { verified: true } });
    await expect(hierarchy().rootKey({ orgId: org, sandbox: 'prod' })).resolves.toHaveLength(32);
  });

  it('creates a sandbox added during UPDATE_EXISTING_RESOURCES under the customer key', async () => {
    const org = 'CF00UERNEW@AdobeOrg';
    const { deps, keys, cmk, rootKeys } = await setupOrg(org, ['sb-a', 'sb-b']);
    let createdUnder: string | undefined;
    await reconcileByokConfigs({
      ...deps,
      onSandboxSettled: async () => {
        if (createdUnder !== undefined) return;
        expect((await view(org)).status).toBe('UPDATE_EXISTING_RESOURCES');
        // Sorts before the scan's position, so the scan itself would not reach it.
        await keys.rootKey({ orgId: org, sandbox: 'aa-new' });
        createdUnder = (await rootKeys.getEntity<{ kekName: string }>(org, 'aa-new')).kekName;
      },
    });
    expect(createdUnder).toBe(cmk.key.name);
    const done = await view(org);
    expect(done.status).toBe('COMPLETED');
    const all = await records(rootKeys, org);
    expect(all.map((r) => r.sandbox)).toEqual(['aa-new', 'sb-a', 'sb-b']);
    for (const r of all) expect(r).toMatchObject({ kekName: cmk.key.name, kekVersion: done.activeKeyVersion });
  });

  it('fails a config with KEY_ROUND_TRIP_FAILED when a wrapped value does not unwrap to itself, leaving the org on the system KEK', async () => {
    const org = 'CF00TRIPFL@AdobeOrg';
    // A vault whose unwrap answers other bytes than were wrapped.
    const corrupting: KekClient = {
      wrapKey: (kek, key) => fx.vault.wrapKey(kek, key),
      unwrapKey: async (kek, wrapped) => {
        const back = await fx.vault.unwrapKey(kek, wrapped);
        back[0] = (back[0] ?? 0) ^ 0xff;
        return back;
      },
    };
    const { deps, system, rootKeys } = await setupOrg(org, ['prod'], { vault: corrupting });
    await reconcileByokConfigs(deps);
    const failed = await view(org);
    expect(failed).toMatchObject({ status: 'FAILED', failure: { code: 'KEY_ROUND_TRIP_FAILED' } });
    expect(failed.history.map((h) => h.status)).toEqual(['NEW', 'RUNNING', 'FAILED']);
    expect(await readOrgKeyState(await tables(ORG_KEYS_TABLE), org)).toBeUndefined();
    expect((await records(rootKeys, org)).map((r) => r.kekName)).toEqual([system.key.name]);
    await expect(deleteByokConfig(configDeps(), tenant(org), 'cfg')).resolves.toBeUndefined();
  });

  it('accepts only one of two configs created for an org at the same instant; the other is refused with CONFLICT', async () => {
    const org = 'CF00TWINS1@AdobeOrg';
    const [first, second] = [await ownedKek(org), await ownedKek(org)];
    const outcomes = await Promise.allSettled([createConfig(org, 'twin-a', first.key.id ?? ''), createConfig(org, 'twin-b', second.key.id ?? '')]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const refused = outcomes.find((o) => o.status === 'rejected');
    expect(refused?.status === 'rejected' && refused.reason instanceof AppError && refused.reason.code).toBe('CONFLICT');
    const stored = await Promise.allSettled([view(org, 'twin-a'), view(org, 'twin-b')]);
    expect(stored.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    // A name taken is still told apart, and the lock row is no config to the reconciler.
    const winner = outcomes[0].status === 'fulfilled' ? 'twin-a' : 'twin-b';
    await expectCode(createConfig(org, winner, first.key.id ?? ''), 'CONFLICT');
    await reconcileByokConfigs({ tables, rootKeys: await fx.newTable(), vault: fx.vault, readKey, clock: systemClock, random: systemRandom, ownership, unreachableGiveUpMinutes: 60 });
    expect((await view(org, winner)).status).toBe('COMPLETED');
  });
});
