/** Vault operations the emulator serves, the names its request counters and faults use. */
export const VAULT_OPERATIONS = [
  'create',
  'get',
  'list',
  'listVersions',
  'update',
  'delete',
  'getDeleted',
  'listDeleted',
  'purge',
  'recover',
  'wrapKey',
  'unwrapKey',
  'encrypt',
  'decrypt',
  'sign',
  'verify',
] as const;

export type VaultOperation = (typeof VAULT_OPERATIONS)[number];

/** Narrows a string to a {@link VaultOperation}. */
export function isVaultOperation(value: unknown): value is VaultOperation {
  return typeof value === 'string' && (VAULT_OPERATIONS as readonly string[]).includes(value);
}

/** The RBAC data action Key Vault names in a ForbiddenByRbac message for each operation. */
export const RBAC_ACTIONS: Record<VaultOperation, string> = {
  create: 'Microsoft.KeyVault/vaults/keys/create/action',
  get: 'Microsoft.KeyVault/vaults/keys/read',
  list: 'Microsoft.KeyVault/vaults/keys/read',
  listVersions: 'Microsoft.KeyVault/vaults/keys/read',
  update: 'Microsoft.KeyVault/vaults/keys/update/action',
  delete: 'Microsoft.KeyVault/vaults/keys/delete',
  getDeleted: 'Microsoft.KeyVault/vaults/deletedKeys/read',
  listDeleted: 'Microsoft.KeyVault/vaults/deletedKeys/read',
  purge: 'Microsoft.KeyVault/vaults/deletedKeys/delete',
  recover: 'Microsoft.KeyVault/vaults/deletedKeys/recover/action',
  wrapKey: 'Microsoft.KeyVault/vaults/keys/wrap/action',
  unwrapKey: 'Microsoft.KeyVault/vaults/keys/unwrap/action',
  encrypt: 'Microsoft.KeyVault/vaults/keys/encrypt/action',
  decrypt: 'Microsoft.KeyVault/vaults/keys/decrypt/action',
  sign: 'Microsoft.KeyVault/vaults/keys/sign/action',
  verify: 'Microsoft.KeyVault/vaults/keys/verify/action',
};
