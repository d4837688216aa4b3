import { KeyClient } from '@azure/keyvault-keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevTls } from '../../local/dev-tls.js';
import { startKeyVaultEmulator, type KeyVaultEmulator } from '../../local/keyvault-emulator/index.js';
import { BYOK_CONFIGS_TABLE, configEntity } from '../../shared/cmk/config-record.js';
import { ORG_KEYS_TABLE, readOrgKeyState } from '../../shared/cmk/org-key-state.js';
import { reconcileByokConfigs } from '../../shared/cmk/reconcile.js';
import { ApiClient } from '../support/api-client.js';
import { customerAdmin } from '../support/customer-vault.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { DAY_SECONDS, GRACE_DAYS, installLegacyCompletedConfig, OWNER_TAG, startCmkFixture, type CmkFixture } from '../cmk/cmk-fixture.js';
import { expectCode, uniqueName } from '../vault/support.js';

const CONFIG = '/data/infrastructure/manager/customer/config';
const SYSTEM_KEY_NAME = 'cipherflow-system-kek';

/**
 * Attack (#17, finding 3): an org set its CMK to the platform's own system KEK
 * (`SYSTEM_KEY_VAULT_URL/keys/SYSTEM_KEY_NAME`, reachable by our identity by design) and reached
 * COMPLETED, irreversibly: "customer-managed" data under the operator's key. Keys in the
 * operator's own vaults are now refused whatever their tags (CMK_KEY_NOT_OWNED), at submission
 * and at validation; an org that completed on one before the fix keeps working through the grace
 * period, is told, then fails closed until it moves to a key of its own.
 */
describe("attack: naming the platform's system KEK as the org's customer key", () => {
  let cmk: CmkFixture;
  let customerVault: KeyVaultEmulator;
  let customerKeys: KeyClient;
  let runtime: RuntimeProcess;

  beforeAll(async () => {
    cmk = await startCmkFixture();
    customerVault = await startKeyVaultEmulator({ port: 0, tls: await ensureDevTls(), tokenAuthority: cmk.fx.stack.vault.tokenAuthority });
    customerKeys = new KeyClient(customerVault.url, customerAdmin(customerVault), { disableChallengeResourceVerification: true });
    // The system KEK as the app creates it in local mode (SYSTEM_KEY_VAULT_URL is this vault).
    await cmk.fx.keys.createRsaKey(SYSTEM_KEY_NAME, { keySize: 3072, keyOps: ['wrapKey', 'unwrapKey'] });
    runtime = await startRuntime({ ...cmk.fx.stack.env, CMK_RECONCILE_SCHEDULE: '0 0 0 1 1 *' });
  });
  afterAll(async () => {
    await runtime?.stop();
    await customerVault?.close();
    await cmk?.stop();
  });

  const operator = () => [cmk.fx.stack.vault.url];

  it('refuses the system KEK, and any key of the system vault even tagged for the org, with 403 CMK_KEY_NOT_OWNED at submission', async () => {
    const org = 'CF17SYSKEK@AdobeOrg';
    const api = new ApiClient(runtime.url, org);
    const tagged = await cmk.fx.keys.createRsaKey(uniqueName('ops'), { keySize: 3072, keyOps: ['wrapKey', 'unwrapKey'], tags: { [OWNER_TAG]: org } });
    for (const [name, kid] of [
      ['system-kek', `${cmk.fx.stack.vault.url}/keys/${SYSTEM_KEY_NAME}`],
      ['tagged', tagged.id ?? ''],
    ] as const) {
      const res = await api.request('POST', CONFIG, { name, type: 'BYOK_CONFIG', imsOrgId: org, configData: { providerType: 'AZURE_KEYVAULT', keyVaultKeyIdentifier: kid } });
      expect(res.status, name).toBe(403);
      expect(((await res.json()) as { code: string }).code, name).toBe('CMK_KEY_NOT_OWNED');
      expect((await api.request('GET', `${CONFIG}/${name}?configType=BYOK_CONFIG`)).status, name).toBe(404);
    }
  });

  it('fails at validation, without one wrap with it, a config on the system vault stored before the fix', async () => {
    const org = 'CF17SYSNEW@AdobeOrg';
    const { deps, system } = await cmk.org(org, ['prod'], { operatorVaults: operator() });
    await cmk.fx.keys.updateKeyProperties(system.key.name, { tags: { [OWNER_TAG]: org } });
    const at = new Date(cmk.clock.now()).toISOString();
    await (await cmk.tables(BYOK_CONFIGS_TABLE)).createEntity(
      configEntity({
        orgId: org,
        name: 'old',
        id: 'old',
        status: 'NEW',
        keyVaultKeyIdentifier: `${system.ref.vaultUrl}/keys/${system.key.name}`,
        keyVaultUrl: system.ref.vaultUrl,
        keyName: system.key.name,
        rewrapped: 0,
        history: [{ status: 'NEW', at }],
        createdAt: at,
        updatedAt: at,
      }),
    );
    cmk.fx.stack.vault.resetRequestCounts();
    await reconcileByokConfigs(deps);
    expect(await cmk.view(org, 'old')).toMatchObject({ status: 'FAILED', failure: { code: 'CMK_KEY_NOT_OWNED' } });
    expect(cmk.fx.stack.vault.requestCounts().wrapKey ?? 0).toBe(0);
    expect(await readOrgKeyState(await cmk.tables(ORG_KEYS_TABLE), org)).toBeUndefined();
  });

  it('keeps an org that completed on the system KEK working through the grace period, then fails it closed until it moves to a key of its own', async () => {
    const org = 'CF17SYSOLD@AdobeOrg';
    const { deps, system, hierarchy, rootKeys } = await cmk.org(org, ['prod', 'dev'], { operatorVaults: operator() });
    // Before the fix: the org's config named the system KEK, so its root keys never moved.
    await installLegacyCompletedConfig(cmk.tables, org, 'legacy', system.key, new Date(cmk.clock.now()));

    await reconcileByokConfigs(deps);
    expect(await cmk.view(org, 'legacy')).toMatchObject({ status: 'COMPLETED', ownership: { verified: false } });
    await expect(hierarchy().rootKey({ orgId: org, sandbox: 'prod' })).resolves.toHaveLength(32);

    cmk.clock.advanceSeconds(GRACE_DAYS * DAY_SECONDS);
    await reconcileByokConfigs(deps);
    expect(await cmk.view(org, 'legacy')).toMatchObject({ status: 'KEY_ACCESS_REVOKED', failure: { code: 'CMK_KEY_NOT_OWNED' } });
    await expectCode(hierarchy().rootKey({ orgId: org, sandbox: 'prod' }), 'CMK_ACCESS_REVOKED');
    // Still irreversible: the way out is a key of its own, not back to system-managed keys.
    await expectCode(cmk.remove(org, 'legacy'), 'CMK_IRREVERSIBLE');

    const own = await customerKeys.createRsaKey(uniqueName('own'), { keySize: 3072, keyOps: ['wrapKey', 'unwrapKey'], tags: { [OWNER_TAG]: org } });
    await cmk.create(org, 'own', own.id ?? '', cmk.configDeps({ operatorVaults: operator() }));
    await reconcileByokConfigs(deps);
    expect(await cmk.view(org, 'own')).toMatchObject({ status: 'COMPLETED', ownership: { verified: true } });
    let moved = 0;
    for await (const r of rootKeys.listEntities<{ kekVaultUrl: string; kekName: string }>({ queryOptions: { filter: `PartitionKey eq '${org}'` } })) {
      if (r.kekVaultUrl === customerVault.url && r.kekName === own.name) moved += 1;
    }
    expect(moved).toBe(2);
    await expect(hierarchy().rootKey({ orgId: org, sandbox: 'dev' })).resolves.toHaveLength(32);
  });
});
