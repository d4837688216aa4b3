import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORG_KEYS_TABLE, readOrgKeyState } from '../../shared/cmk/org-key-state.js';
import { reconcileByokConfigs } from '../../shared/cmk/reconcile.js';
import { startCmkFixture, type CmkFixture } from '../cmk/cmk-fixture.js';
import { expectCode } from '../vault/support.js';

// Nothing listens on port 1: the vault refuses the connection, as a vault that never answers.
const UNREACHABLE_KEY = 'https://127.0.0.1:1/keys/never-answers';

/**
 * Attack (#17, finding 4): a config on a vault that never answers stayed RUNNING forever, and from
 * then on DELETE answered CMK_IRREVERSIBLE and a corrected config CONFLICT: the org could never
 * again set a customer key. Until the org's key state names the customer key (the config reached
 * UPDATE_EXISTING_RESOURCES), a config can now be deleted or replaced, and one whose vault stays
 * unreachable ends FAILED KEY_VAULT_UNREACHABLE after CMK_UNREACHABLE_GIVE_UP_MINUTES (60 here).
 * Once the org's key state names the customer key, CMK_IRREVERSIBLE still holds.
 */
describe('attack: a CMK config on a vault that never answers locks the org out', () => {
  let cmk: CmkFixture;
  beforeAll(async () => {
    cmk = await startCmkFixture();
  });
  afterAll(async () => cmk?.stop());

  it('lets a config stuck RUNNING on an unreachable vault be deleted, leaving the org on the system KEK', async () => {
    const org = 'CF17LOCK01@AdobeOrg';
    const { deps } = await cmk.org(org, ['prod']);
    await cmk.create(org, 'stuck', UNREACHABLE_KEY);
    await reconcileByokConfigs(deps);
    expect((await cmk.view(org, 'stuck')).status).toBe('RUNNING');

    await expect(cmk.remove(org, 'stuck')).resolves.toBeUndefined();
    await expectCode(cmk.view(org, 'stuck'), 'NOT_FOUND');
    expect(await readOrgKeyState(await cmk.tables(ORG_KEYS_TABLE), org)).toBeUndefined();
    // A deleted config is gone for the reconciler too.
    expect((await reconcileByokConfigs(deps)).transitions).toBe(0);
  });

  it('accepts a corrected config while the first is stuck RUNNING; the first ends FAILED CONFIG_REPLACED and the second completes', async () => {
    const org = 'CF17LOCK02@AdobeOrg';
    const { deps, rootKeys } = await cmk.org(org, ['prod', 'dev']);
    await cmk.create(org, 'stuck', UNREACHABLE_KEY);
    await reconcileByokConfigs(deps);
    expect((await cmk.view(org, 'stuck')).status).toBe('RUNNING');

    const key = await cmk.customerKey(org);
    const created = await cmk.create(org, 'fixed', key.id ?? '');
    expect(created.status).toBe('CREATED');
    const replaced = await cmk.view(org, 'stuck');
    expect(replaced).toMatchObject({ status: 'FAILED', failure: { code: 'CONFIG_REPLACED' } });
    expect(replaced.history.map((h) => h.status)).toEqual(['NEW', 'RUNNING', 'FAILED']);

    await reconcileByokConfigs(deps);
    expect((await cmk.view(org, 'fixed')).status).toBe('COMPLETED');
    expect((await cmk.view(org, 'stuck')).history).toHaveLength(3);
    let underCustomerKey = 0;
    for await (const r of rootKeys.listEntities<{ kekName: string }>({ queryOptions: { filter: `PartitionKey eq '${org}'` } })) {
      if (r.kekName === key.name) underCustomerKey += 1;
    }
    expect(underCustomerKey).toBe(2);
    // The replaced config never took effect: it can go.
    await expect(cmk.remove(org, 'stuck')).resolves.toBeUndefined();
  });

  it('ends a config whose vault stays unreachable FAILED KEY_VAULT_UNREACHABLE after 60 minutes, not before', async () => {
    const org = 'CF17LOCK03@AdobeOrg';
    const { deps } = await cmk.org(org, ['prod']);
    await cmk.create(org, 'stuck', UNREACHABLE_KEY);
    await reconcileByokConfigs(deps);
    cmk.clock.advanceSeconds(59 * 60);
    await reconcileByokConfigs(deps);
    expect((await cmk.view(org, 'stuck')).status).toBe('RUNNING');

    cmk.clock.advanceSeconds(2 * 60);
    await reconcileByokConfigs(deps);
    const failed = await cmk.view(org, 'stuck');
    expect(failed).toMatchObject({ status: 'FAILED', failure: { code: 'KEY_VAULT_UNREACHABLE' } });
    expect(failed.history.map((h) => h.status)).toEqual(['NEW', 'RUNNING', 'FAILED']);
    expect(await readOrgKeyState(await cmk.tables(ORG_KEYS_TABLE), org)).toBeUndefined();
    // FAILED stays FAILED, and it can be deleted.
    await reconcileByokConfigs(deps);
    expect((await cmk.view(org, 'stuck')).history).toHaveLength(3);
    await expect(cmk.remove(org, 'stuck')).resolves.toBeUndefined();
  });

  it('keeps CMK_IRREVERSIBLE (and CONFLICT for a new config) once the org key state names the customer key, however long the vault is down', async () => {
    const org = 'CF17LOCK04@AdobeOrg';
    const { deps } = await cmk.org(org, ['sb-a', 'sb-b', 'sb-c']);
    const key = await cmk.customerKey(org);
    const other = await cmk.customerKey(org);
    await cmk.create(org, 'cfg', key.id ?? '');
    let down = false;
    await reconcileByokConfigs({
      ...deps,
      // The customer's vault goes down once the first sandbox is re-wrapped.
      onSandboxSettled: () => {
        if (down) return;
        down = true;
        cmk.fx.stack.vault.injectFault({ kind: 'status', status: 503, count: 10_000 });
      },
    });
    try {
      expect((await cmk.view(org, 'cfg')).status).toBe('UPDATE_EXISTING_RESOURCES');
      expect(await readOrgKeyState(await cmk.tables(ORG_KEYS_TABLE), org)).toMatchObject({ configName: 'cfg' });
      cmk.clock.advanceSeconds(3 * 3600);
      await reconcileByokConfigs(deps);
      expect((await cmk.view(org, 'cfg')).status).toBe('UPDATE_EXISTING_RESOURCES');
      await expectCode(cmk.remove(org, 'cfg'), 'CMK_IRREVERSIBLE');
      await expectCode(cmk.create(org, 'other', other.id ?? ''), 'CONFLICT');
    } finally {
      cmk.fx.stack.vault.clearFaults();
    }
    await reconcileByokConfigs(deps);
    expect((await cmk.view(org, 'cfg')).status).toBe('COMPLETED');
    await expectCode(cmk.remove(org, 'cfg'), 'CMK_IRREVERSIBLE');
  });
});
