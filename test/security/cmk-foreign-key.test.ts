import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORG_KEYS_TABLE, readOrgKeyState } from '../../shared/cmk/org-key-state.js';
import { reconcileByokConfigs } from '../../shared/cmk/reconcile.js';
import { systemClock } from '../../shared/core/clock.js';
import { rewrapRootKeys } from '../../shared/vault/rewrap-root-keys.js';
import { DAY_SECONDS, GRACE_DAYS, installLegacyCompletedConfig, OWNER_TAG, startCmkFixture, type CmkFixture } from '../cmk/cmk-fixture.js';
import { expectCode } from '../vault/support.js';

const ATTACKER = 'CF17ATTACK@AdobeOrg';
const VICTIM = 'CF17VICTIM@AdobeOrg';

/**
 * Attack (#17, finding 3): our multi-tenant app can reach the CMK of every customer that consented
 * to it, so an org could name another customer's key as its own CMK and reach COMPLETED (its data
 * then hangs on the victim's key, and the victim's revocation or rotation becomes the attacker's
 * outage and ours). A key now counts as the org's only with proof only its owner can give: the tag
 * `cipherflow-org` = the org id on the key's current version (setting a tag needs key-management
 * rights, which our app never has). Checked at submission and on every reconcile: CMK_KEY_NOT_OWNED.
 */
describe("attack: naming another customer's key as the org's CMK", () => {
  let cmk: CmkFixture;
  beforeAll(async () => {
    cmk = await startCmkFixture();
  });
  afterAll(async () => cmk?.stop());

  const principal = () => cmk.fx.stack.vault.systemAssignedIdentity.principalId;

  it("refuses at submission a key tagged for another org, or not tagged, with CMK_KEY_NOT_OWNED, storing nothing and naming no other org", async () => {
    const victims = await cmk.customerKey(VICTIM);
    const err = await expectCode(cmk.create(ATTACKER, 'stolen', victims.id ?? ''), 'CMK_KEY_NOT_OWNED');
    expect(err.detail).not.toContain(VICTIM);
    await expectCode(cmk.view(ATTACKER, 'stolen'), 'NOT_FOUND');

    const untagged = await cmk.customerKey();
    await expectCode(cmk.create(ATTACKER, 'untagged', untagged.id ?? ''), 'CMK_KEY_NOT_OWNED');
    // A tag value that merely contains the org id is no proof either.
    const lookalike = await cmk.customerKey(`${ATTACKER},${VICTIM}`);
    await expectCode(cmk.create(ATTACKER, 'lookalike', lookalike.id ?? ''), 'CMK_KEY_NOT_OWNED');
  });

  it('fails at validation, without one wrap or unwrap with it, a foreign key that was unreadable at submission', async () => {
    const { deps } = await cmk.org(ATTACKER, ['prod']);
    const victims = await cmk.customerKey(VICTIM);
    // Unreadable at submission: the check is left to the reconciler, which reads it again.
    await cmk.fx.stack.vault.revokeAccess(principal(), victims.name);
    await cmk.create(ATTACKER, 'late', victims.id ?? '');
    await cmk.fx.stack.vault.restoreAccess(principal(), victims.name);

    cmk.fx.stack.vault.resetRequestCounts();
    await reconcileByokConfigs(deps);
    const failed = await cmk.view(ATTACKER, 'late');
    expect(failed).toMatchObject({ status: 'FAILED', failure: { code: 'CMK_KEY_NOT_OWNED' } });
    expect(failed.failure?.message).not.toContain(VICTIM);
    const counts = cmk.fx.stack.vault.requestCounts();
    expect(counts.wrapKey ?? 0).toBe(0);
    expect(counts.unwrapKey ?? 0).toBe(0);
    expect(await readOrgKeyState(await cmk.tables(ORG_KEYS_TABLE), ATTACKER)).toBeUndefined();
  });

  it("fails an org at once with CMK_KEY_NOT_OWNED when the key's owner removes the tag (a revocation of proof), and reopens it when the tag is back", async () => {
    const org = 'CF17TAGREV@AdobeOrg';
    const { deps, hierarchy } = await cmk.org(org, ['prod']);
    const key = await cmk.customerKey(org);
    await cmk.create(org, 'cfg', key.id ?? '');
    await reconcileByokConfigs(deps);
    expect(await cmk.view(org, 'cfg')).toMatchObject({ status: 'COMPLETED', ownership: { verified: true } });

    await cmk.setTags(key, {});
    await reconcileByokConfigs(deps);
    const revoked = await cmk.view(org, 'cfg');
    expect(revoked).toMatchObject({ status: 'KEY_ACCESS_REVOKED', failure: { code: 'CMK_KEY_NOT_OWNED' }, ownership: { verified: false } });
    expect(await readOrgKeyState(await cmk.tables(ORG_KEYS_TABLE), org)).toMatchObject({ access: 'KEY_ACCESS_REVOKED', reason: 'CMK_KEY_NOT_OWNED' });
    await expectCode(hierarchy().rootKey({ orgId: org, sandbox: 'prod' }), 'CMK_ACCESS_REVOKED');

    // Retagged for another org: still no proof for this one.
    await cmk.setTags(key, { [OWNER_TAG]: VICTIM });
    await reconcileByokConfigs(deps);
    expect((await cmk.view(org, 'cfg')).history.filter((h) => h.status === 'KEY_ACCESS_REVOKED')).toHaveLength(1);

    await cmk.setTags(key, { [OWNER_TAG]: org });
    await reconcileByokConfigs(deps);
    expect(await cmk.view(org, 'cfg')).toMatchObject({ status: 'COMPLETED', ownership: { verified: true } });
    await expect(hierarchy().rootKey({ orgId: org, sandbox: 'prod' })).resolves.toHaveLength(32);
  });

  it('keeps an org that completed on a foreign key before the fix working through the grace period, tells it, then fails it with CMK_KEY_NOT_OWNED', async () => {
    const org = 'CF17LEGACY@AdobeOrg';
    const { deps, hierarchy, rootKeys } = await cmk.org(org, ['prod', 'dev']);
    const victims = await cmk.customerKey(VICTIM);
    // What the code before the fix left behind: the org's root keys under the victim's key.
    const started = new Date(cmk.clock.now());
    await rewrapRootKeys(
      { tables: rootKeys, vault: cmk.fx.vault, clock: systemClock },
      { orgId: org, to: { vaultUrl: cmk.fx.stack.vault.url, name: victims.name, version: victims.properties.version ?? '' } },
    );
    await installLegacyCompletedConfig(cmk.tables, org, 'legacy', victims, started);

    await reconcileByokConfigs(deps);
    const warned = await cmk.view(org, 'legacy');
    const enforcedFrom = new Date(started.getTime() + GRACE_DAYS * DAY_SECONDS * 1000).toISOString();
    expect(warned).toMatchObject({ status: 'COMPLETED', ownership: { verified: false, enforcedFrom } });
    expect(warned.history.filter((h) => h.event === 'OWNERSHIP_UNPROVEN')).toHaveLength(1);
    await expect(hierarchy().rootKey({ orgId: org, sandbox: 'prod' })).resolves.toHaveLength(32);

    cmk.clock.advanceSeconds((GRACE_DAYS - 1) * DAY_SECONDS);
    await reconcileByokConfigs(deps);
    const stillWarned = await cmk.view(org, 'legacy');
    expect(stillWarned).toMatchObject({ status: 'COMPLETED', ownership: { verified: false, enforcedFrom } });
    expect(stillWarned.history.filter((h) => h.event === 'OWNERSHIP_UNPROVEN')).toHaveLength(1);

    cmk.clock.advanceSeconds(DAY_SECONDS);
    await reconcileByokConfigs(deps);
    expect(await cmk.view(org, 'legacy')).toMatchObject({ status: 'KEY_ACCESS_REVOKED', failure: { code: 'CMK_KEY_NOT_OWNED' } });
    await expectCode(hierarchy().rootKey({ orgId: org, sandbox: 'dev' }), 'CMK_ACCESS_REVOKED');
  });
});
