import type { KeyVaultKey } from '@azure/keyvault-keys';
import { describe, expect, it } from 'vitest';
import { appRegistration } from '../../shared/cmk/app-registration.js';
import { loadConfigPart } from '../../shared/config/app-config.js';
import { checkProperties } from '../../shared/cmk/validate-cmk-key.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');

function key(overrides: { bits?: number; keyType?: string; ops?: string[]; enabled?: boolean; expiresOn?: Date; notBefore?: Date; recoveryLevel?: string } = {}): KeyVaultKey {
  const bits = overrides.bits ?? 3072;
  return {
    name: 'k',
    keyType: overrides.keyType ?? 'RSA',
    keyOperations: overrides.ops ?? ['wrapKey', 'unwrapKey'],
    key: { n: new Uint8Array(bits / 8), e: new Uint8Array([1, 0, 1]) },
    properties: {
      name: 'k',
      vaultUrl: 'https://v.vault.azure.net',
      version: '0'.repeat(32),
      enabled: overrides.enabled ?? true,
      recoveryLevel: overrides.recoveryLevel ?? 'Recoverable',
      ...(overrides.expiresOn === undefined ? {} : { expiresOn: overrides.expiresOn }),
      ...(overrides.notBefore === undefined ? {} : { notBefore: overrides.notBefore }),
    },
  };
}

describe('checkProperties', () => {
  it('accepts an enabled RSA 3072 key allowed to wrap and unwrap in a purge-protected vault', () => {
    expect(checkProperties(key(), NOW)).toBeUndefined();
    expect(checkProperties(key({ recoveryLevel: 'CustomizedRecoverable+ProtectedSubscription', bits: 4096 }), NOW)).toBeUndefined();
  });

  it.each([
    ['KEY_TOO_SMALL', key({ bits: 2048 })],
    ['KEY_TYPE_UNSUPPORTED', key({ keyType: 'EC' })],
    ['KEY_DISABLED', key({ enabled: false })],
    // Key Vault lets an expired key unwrap, so the dates are checked here.
    ['KEY_EXPIRED', key({ expiresOn: new Date(NOW - 1000) })],
    ['KEY_NOT_YET_VALID', key({ notBefore: new Date(NOW + 60_000) })],
    ['KEY_OPERATIONS_MISSING', key({ ops: ['wrapKey', 'encrypt'] })],
    ['PURGE_PROTECTION_DISABLED', key({ recoveryLevel: 'Recoverable+Purgeable' })],
    ['PURGE_PROTECTION_DISABLED', key({ recoveryLevel: 'CustomizedRecoverable+Purgeable' })],
  ])('refuses with %s', (code, k) => {
    expect(checkProperties(k, NOW)?.code).toBe(code);
  });
});

describe('CMK settings and app registration', () => {
  it('requires the app registration outside local mode and refuses the crash hook there', () => {
    expect(() => loadConfigPart('cmk', {})).toThrow(/CMK_APP_CLIENT_ID/);
    const prod = { CMK_APP_CLIENT_ID: 'e463a445-c6ac-4ca2-b36a-b5146fcf6a52', CMK_APP_NAME: 'cf-cmk', CMK_APP_URI: 'https://cipherflow.dev/cmk' };
    expect(loadConfigPart('cmk', prod)).toEqual({
      appClientId: prod.CMK_APP_CLIENT_ID,
      appName: 'cf-cmk',
      appUri: prod.CMK_APP_URI,
      ownershipGraceDays: 30,
      operatorVaultUrls: [],
      unreachableGiveUpMinutes: 60,
    });
  });

  it('reads the ownership grace, the operator vaults and the give-up time, refusing malformed values', () => {
    const local = { CIPHERFLOW_ENV: 'local' };
    const parsed = loadConfigPart('cmk', {
      ...local,
      CMK_OWNERSHIP_GRACE_DAYS: '0',
      CMK_OPERATOR_VAULT_URLS: ' https://ops-a.vault.azure.net/ , https://OPS-B.vault.azure.net',
      CMK_UNREACHABLE_GIVE_UP_MINUTES: '15',
    });
    expect(parsed).toMatchObject({ ownershipGraceDays: 0, operatorVaultUrls: ['https://ops-a.vault.azure.net', 'https://ops-b.vault.azure.net'], unreachableGiveUpMinutes: 15 });
    expect(() => loadConfigPart('cmk', { ...local, CMK_OWNERSHIP_GRACE_DAYS: '-1' })).toThrow(/CMK_OWNERSHIP_GRACE_DAYS/);
    expect(() => loadConfigPart('cmk', { ...local, CMK_UNREACHABLE_GIVE_UP_MINUTES: '0' })).toThrow(/CMK_UNREACHABLE_GIVE_UP_MINUTES/);
    expect(() => loadConfigPart('cmk', { ...local, CMK_OPERATOR_VAULT_URLS: 'http://ops.vault.azure.net' })).toThrow(/CMK_OPERATOR_VAULT_URLS/);
  });

  it('builds the consent URL of the multi-tenant app', () => {
    const reg = appRegistration({ appClientId: 'e463a445-c6ac-4ca2-b36a-b5146fcf6a52', appName: 'cf-cmk', appUri: 'https://cipherflow.dev/cmk' });
    expect(reg.applicationRedirectUrl).toBe(
      'https://login.microsoftonline.com/common/oauth2/authorize?response_type=code&client_id=e463a445-c6ac-4ca2-b36a-b5146fcf6a52&redirect_uri=https%3A%2F%2Fcipherflow.dev%2Fcmk&scope=user.read',
    );
  });
});
