import type { KeyVaultKey } from '@azure/keyvault-keys';
import { describe, expect, it } from 'vitest';
import { isOperatorVault, keyProvesOwnership, notOwnedFailure, ownershipPolicy, ownershipView, settleProof } from '../../shared/cmk/key-ownership.js';

const ORG = 'ACME1234@AdobeOrg';
const CUSTOMER = 'https://contoso.vault.azure.net';
const policy = ownershipPolicy({ operatorVaultUrls: ['https://cf-other.vault.azure.net'], ownershipGraceDays: 30 }, 'https://cf-system.vault.azure.net/');
const T0 = Date.parse('2026-01-01T00:00:00Z');
const DAY = 24 * 3600 * 1000;

function key(tags?: Record<string, string>): KeyVaultKey {
  return { name: 'k', properties: { name: 'k', vaultUrl: CUSTOMER, ...(tags === undefined ? {} : { tags }) } };
}

describe('proof that a customer key is the org’s', () => {
  it('counts the system vault and CMK_OPERATOR_VAULT_URLS as operator vaults, by origin', () => {
    expect(isOperatorVault(policy, 'https://CF-SYSTEM.vault.azure.net')).toBe(true);
    expect(isOperatorVault(policy, 'https://cf-system.vault.azure.net:443')).toBe(true);
    expect(isOperatorVault(policy, 'https://cf-other.vault.azure.net')).toBe(true);
    expect(isOperatorVault(policy, CUSTOMER)).toBe(false);
    // Any spelling of a loopback emulator is the same vault.
    const local = ownershipPolicy({ operatorVaultUrls: [], ownershipGraceDays: 30 }, 'https://127.0.0.1:8443');
    expect(isOperatorVault(local, 'https://localhost:8443')).toBe(true);
    expect(isOperatorVault(local, 'https://[::1]:8443')).toBe(true);
    expect(isOperatorVault(local, 'https://127.0.0.1:8444')).toBe(false);
  });

  it.each([
    ['no tags', undefined, false],
    ['another tag', { owner: ORG }, false],
    ['another org', { 'cipherflow-org': 'OTHER0001@AdobeOrg' }, false],
    ['a list holding the org', { 'cipherflow-org': `${ORG},OTHER0001@AdobeOrg` }, false],
    ['another case', { 'cipherflow-org': ORG.toLowerCase() }, false],
    ['exactly the org', { 'cipherflow-org': ORG }, true],
  ] as const)('accepts only the exact tag: %s → %s', (_what, tags, proven) => {
    expect(keyProvesOwnership(policy, CUSTOMER, key(tags), ORG)).toBe(proven);
  });

  it('never accepts a key in an operator vault, whatever its tags', () => {
    expect(keyProvesOwnership(policy, 'https://cf-system.vault.azure.net', key({ 'cipherflow-org': ORG }), ORG)).toBe(false);
    expect(notOwnedFailure(policy, 'https://cf-system.vault.azure.net', ORG).message).toMatch(/operates/);
    expect(notOwnedFailure(policy, CUSTOMER, ORG)).toMatchObject({ code: 'CMK_KEY_NOT_OWNED' });
  });

  it('enforces a lost proof at once, and a proof never seen only once the grace has run out', () => {
    expect(settleProof(policy, {}, true, T0)).toEqual({ ownerProof: 'VERIFIED', enforce: false });
    expect(settleProof(policy, { ownerProof: 'VERIFIED' }, false, T0)).toEqual({ ownerProof: 'LOST', enforce: true });
    expect(settleProof(policy, { ownerProof: 'LOST' }, true, T0)).toEqual({ ownerProof: 'VERIFIED', enforce: false });
    const started = settleProof(policy, {}, false, T0);
    expect(started).toEqual({ unprovenSince: new Date(T0).toISOString(), enforce: false });
    const since = { unprovenSince: new Date(T0).toISOString() };
    expect(settleProof(policy, since, false, T0 + 30 * DAY - 1).enforce).toBe(false);
    expect(settleProof(policy, since, false, T0 + 30 * DAY).enforce).toBe(true);
    expect(settleProof({ ...policy, graceDays: 0 }, {}, false, T0).enforce).toBe(true);
  });

  it('shows enforcedFrom only for a config in effect that never had proof', () => {
    expect(ownershipView(policy, { ownerProof: 'VERIFIED' })).toEqual({ verified: true });
    expect(ownershipView(policy, { ownerProof: 'LOST' })).toEqual({ verified: false });
    expect(ownershipView(policy, {})).toEqual({ verified: false });
    expect(ownershipView(policy, { unprovenSince: new Date(T0).toISOString() })).toEqual({ verified: false, enforcedFrom: new Date(T0 + 30 * DAY).toISOString() });
  });
});
