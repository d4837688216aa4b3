import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { describe, expect, it } from 'vitest';
import { tenantRoutingCredential } from '../../shared/azure/tenant-routing-credential.js';
import { loadConfigPart } from '../../shared/config/app-config.js';

const HOME = '11111111-1111-4111-8111-111111111111';
const CUSTOMER = '22222222-2222-4222-8222-222222222222';

function recording(name: string, calls: string[]): TokenCredential {
  return {
    getToken: (_scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> => {
      calls.push(`${name}:${options?.tenantId ?? '-'}`);
      return Promise.resolve({ token: name, expiresOnTimestamp: Date.now() + 60_000 });
    },
  };
}

describe('tenant routing credential', () => {
  it('uses the managed identity at home and the CMK app (one per tenant) in customers\' tenants', async () => {
    const calls: string[] = [];
    const made: string[] = [];
    const credential = tenantRoutingCredential(recording('home', calls), HOME, (tenantId) => {
      made.push(tenantId);
      return recording('cmk-app', calls);
    });
    await credential.getToken('https://vault.azure.net/.default');
    await credential.getToken('https://vault.azure.net/.default', { tenantId: HOME.toUpperCase() });
    await credential.getToken('https://vault.azure.net/.default', { tenantId: CUSTOMER });
    await credential.getToken('https://vault.azure.net/.default', { tenantId: CUSTOMER });
    expect(calls).toEqual(['home:-', `home:${HOME.toUpperCase()}`, `cmk-app:${CUSTOMER}`, `cmk-app:${CUSTOMER}`]);
    expect(made).toEqual([CUSTOMER]);
  });
});

describe('cross-tenant configuration', () => {
  const base = {
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    LandingStorage: 'UseDevelopmentStorage=true',
    SYSTEM_KEY_VAULT_URL: 'https://vault.example.net',
    PUBLIC_BASE_URL: 'https://api.example.net',
  };

  it('is set only when both our tenant and the CMK app are configured', () => {
    expect(loadConfigPart('core', base).crossTenant).toBeUndefined();
    expect(loadConfigPart('core', { ...base, AZURE_TENANT_ID: HOME }).crossTenant).toBeUndefined();
    expect(loadConfigPart('core', { ...base, AZURE_TENANT_ID: HOME, CMK_APP_CLIENT_ID: CUSTOMER, AZURE_CLIENT_ID: HOME }).crossTenant).toEqual({
      homeTenantId: HOME,
      appClientId: CUSTOMER,
      managedIdentityClientId: HOME,
    });
  });

  it('refuses a tenant id that is not a GUID, naming it', () => {
    expect(() => loadConfigPart('core', { ...base, AZURE_TENANT_ID: 'contoso' })).toThrow(/AZURE_TENANT_ID/);
  });
});
