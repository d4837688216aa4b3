import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../shared/auth/tenant.js';
import { createByokConfig, getByokConfig } from '../../shared/cmk/byok-configs.js';
import { ORG_KEYS_TABLE, readOrgKeyState } from '../../shared/cmk/org-key-state.js';
import { reconcileByokConfigs, type ReconcileDeps } from '../../shared/cmk/reconcile.js';
import { createRevocationGate } from '../../shared/cmk/revocation-gate.js';
import { customerKekResolver } from '../../shared/cmk/customer-kek-resolver.js';
import { guardCustomerKek } from '../../shared/cmk/customer-kek-guard.js';
import { AppError } from '../../shared/errors.js';
import { createTableFactory, type TableFactory } from '../../shared/storage/tenant-table.js';
import { systemClock } from '../../shared/vault/clock.js';
import { createKeyHierarchy } from '../../shared/vault/key-hierarchy.js';
import { sameKey, type KekRef } from '../../shared/vault/key-vault-key-id.js';
import { systemRandom } from '../../shared/vault/random.js';
import { TableClient } from '@azure/data-tables';
import { startVaultFixture, type VaultFixture } from '../vault/support.js';

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

  async function setupOrg(orgId: string, sandboxes: readonly string[]) {
    const system = await fx.newKek();
    const rootKeys = await fx.newTable();
    const orgs = await tables(ORG_KEYS_TABLE);
    const keys = createKeyHierarchy({
      tables: rootKeys,
      vault: guardCustomerKek(fx.vault, (kek) => !sameKey(kek, system.ref)),
      clock: systemClock,
      random: systemRandom,
      resolveKek: customerKekResolver({ tables: orgs, system: () => Promise.resolve<KekRef>(system.ref) }),
      gate: createRevocationGate({ tables: orgs, clock: systemClock, refreshMs: 0 }),
      cacheTtlSeconds: 300,
    });
    for (const sandbox of sandboxes) await keys.rootKey({ orgId, sandbox });
    const cmk = await fx.newKek();
    const deps: ReconcileDeps = {
      tables,
      rootKeys,
      vault: fx.vault,
      readKey: (k) => fx.keys.getKey(k.name),
      clock: systemClock,
      random: systemRandom,
    };
    await createByokConfig({ tables, clock: systemClock, allowLoopback: true }, tenant(orgId), {
      name: 'cfg',
      type: 'BYOK_CONFIG',
      imsOrgId: orgId,
      configData: { providerType: 'AZURE_KEYVAULT', keyVaultKeyIdentifier: cmk.key.id ?? '' },
    });
    return { keys, cmk, deps, rootKeys };
  }

  const view = (orgId: string) => getByokConfig({ tables, clock: systemClock, allowLoopback: true }, tenant(orgId), 'cfg', 'BYOK_CONFIG');

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

  it('fails the org closed with CMK_ACCESS_REVOKED on cached keys once revoked, and reopens it on restore', async () => {
    const org = 'CF00GATE01@AdobeOrg';
    const { deps, keys, cmk } = await setupOrg(org, ['prod']);
    await reconcileByokConfigs(deps);
    expect((await view(org)).status).toBe('COMPLETED');
    await keys.rootKey({ orgId: org, sandbox: 'prod' });

    await fx.stack.vault.revokeAccess(fx.stack.vault.systemAssignedIdentity.principalId, cmk.key.name);
    await reconcileByokConfigs(deps);
    const revoked = await view(org);
    expect(revoked).toMatchObject({ status: 'KEY_ACCESS_REVOKED', failure: { code: 'KEY_ACCESS_DENIED' } });
    expect((await readOrgKeyState(await tables(ORG_KEYS_TABLE), org))?.access).toBe('KEY_ACCESS_REVOKED');
    // The root key is still cached (TTL 300 s), yet the gate refuses it.
    const err = await keys.rootKey({ orgId: org, sandbox: 'prod' }).catch((e: unknown) => e);
    expect(err instanceof AppError && err.code).toBe('CMK_ACCESS_REVOKED');

    await fx.stack.vault.restoreAccess(fx.stack.vault.systemAssignedIdentity.principalId, cmk.key.name);
    await reconcileByokConfigs(deps);
    expect((await view(org)).status).toBe('COMPLETED');
    await expect(keys.rootKey({ orgId: org, sandbox: 'prod' })).resolves.toHaveLength(32);
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
});
