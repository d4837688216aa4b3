import type { AccessToken, TokenCredential } from '@azure/identity';
import type { KeyVaultEmulator } from '../../local/keyvault-emulator/index.js';

/**
 * The customer's own administrator in the shared (emulated) Entra ID: what creates and manages
 * the customer's key in their vault, as a person would in the portal.
 */
export function customerAdmin(vault: KeyVaultEmulator): TokenCredential {
  return {
    async getToken(): Promise<AccessToken> {
      const { token, expiresOn } = await vault.tokenAuthority.issue(
        { clientId: '11111111-1111-4111-8111-111111111111', principalId: '22222222-2222-4222-8222-222222222222' },
        'https://vault.azure.net',
      );
      return { token, expiresOnTimestamp: expiresOn * 1000 };
    },
  };
}
