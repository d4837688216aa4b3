import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';

/**
 * A credential that answers for our own tenant with `home` (the managed identity) and, when a
 * resource names another tenant (Key Vault's 401 challenge does: a customer's vault lives in the
 * customer's tenant), with the credential `foreign(tenantId)` returns: our multi-tenant CMK app,
 * which the customer consented to. The managed identity alone can never reach another tenant.
 */
export function tenantRoutingCredential(
  home: TokenCredential,
  homeTenantId: string,
  foreign: (tenantId: string) => TokenCredential,
): TokenCredential {
  const foreignByTenant = new Map<string, TokenCredential>();
  return {
    getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      const tenantId = options?.tenantId?.toLowerCase();
      if (tenantId === undefined || tenantId === homeTenantId.toLowerCase()) return home.getToken(scopes, options);
      let credential = foreignByTenant.get(tenantId);
      if (credential === undefined) {
        credential = foreign(tenantId);
        foreignByTenant.set(tenantId, credential);
      }
      return credential.getToken(scopes, options);
    },
  };
}
