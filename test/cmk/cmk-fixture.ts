import { TableClient } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import { KeyClient, type KeyVaultKey } from '@azure/keyvault-keys';
import type { Tenant } from '../../shared/auth/tenant.js';
import { BYOK_CONFIGS_TABLE, configEntity } from '../../shared/cmk/config-record.js';
import { createByokConfig, deleteByokConfig, getByokConfig, type ByokConfigDeps, type CreateByokConfigDeps } from '../../shared/cmk/configs.js';
import { customerKekResolver } from '../../shared/cmk/customer-kek-resolver.js';
import { guardCustomerKek } from '../../shared/cmk/customer-kek-guard.js';
import type { OwnershipPolicy } from '../../shared/cmk/key-ownership.js';
import { ORG_KEYS_TABLE, writeOrgKeyState } from '../../shared/cmk/org-key-state.js';
import { createRevocationGate } from '../../shared/cmk/revocation-gate.js';
import type { ReconcileDeps } from '../../shared/cmk/reconcile.js';
import type { KeyReader } from '../../shared/cmk/validate-cmk-key.js';
import { createTableFactory, type TableFactory } from '../../shared/storage/tenant-table.js';
import { createKeyHierarchy } from '../../shared/vault/key-hierarchy.js';
import { sameKey, type KekRef } from '../../shared/vault/key-vault-key-id.js';
import { systemRandom } from '../../shared/core/random.js';
import { customerAdmin } from '../support/customer-vault.js';
import { ManualClock, startVaultFixture, uniqueName, type VaultFixture } from '../vault/support.js';

/** The tag a key's owner sets to prove the key is the org's (spelled out: it is a public contract). */
export const OWNER_TAG = 'cipherflow-org';

/** The grace the fixture's policy gives configs that took effect without proof of ownership. */
export const GRACE_DAYS = 30;
export const DAY_SECONDS = 24 * 3600;

export function tenant(orgId: string): Tenant {
  return { orgId, sandbox: 'prod', clientId: 'test', subject: 'test' };
}

/**
 * The CMK domain over real Azurite and the Key Vault emulator, in process, with a clock tests move
 * by hand (grace periods and give-up times pass without waiting). One vault plays both roles: the
 * operator's (system KEK) and the customer's; which of its keys count as the operator's is the
 * policy's `operatorVaults`, set per test.
 */
export interface CmkFixture {
  readonly fx: VaultFixture;
  readonly tables: TableFactory;
  readonly clock: ManualClock;
  /** The customer's administrator: creates and tags the customer's keys (the app never can). */
  readonly owner: KeyClient;
  policy(operatorVaults?: readonly string[]): OwnershipPolicy;
  configDeps(options?: { readonly operatorVaults?: readonly string[]; readonly readKey?: KeyReader }): CreateByokConfigDeps;
  create(orgId: string, name: string, keyVaultKeyIdentifier: string, deps?: CreateByokConfigDeps): ReturnType<typeof createByokConfig>;
  view(orgId: string, name: string, deps?: ByokConfigDeps): ReturnType<typeof getByokConfig>;
  remove(orgId: string, name: string, deps?: ByokConfigDeps): Promise<void>;
  /** A fresh RSA-3072 wrap/unwrap key, tagged `cipherflow-org` = `taggedFor` when given. */
  customerKey(taggedFor?: string): Promise<KeyVaultKey>;
  /** Replaces the tags of the key's current version, as its owner would in the portal. */
  setTags(key: KeyVaultKey, tags: Record<string, string>): Promise<void>;
  /** An org with root keys for `sandboxes` under a fresh system KEK, its data path and reconciler deps. */
  org(orgId: string, sandboxes: readonly string[], options?: { readonly operatorVaults?: readonly string[]; readonly readKey?: KeyReader }): Promise<OrgSetup>;
  stop(): Promise<void>;
}

export interface OrgSetup {
  readonly system: { key: KeyVaultKey; ref: KekRef };
  readonly rootKeys: TableClient;
  readonly deps: ReconcileDeps;
  /** A new data path with an empty cache: every read reaches the vault and the gate. */
  readonly hierarchy: () => ReturnType<typeof createKeyHierarchy>;
}

/** A key reader that does not retry, so an unreachable vault costs one attempt per cycle. */
export function noRetryReader(credential: TokenCredential): KeyReader {
  const clients = new Map<string, KeyClient>();
  return (key, options) => {
    let client = clients.get(key.vaultUrl);
    if (client === undefined) {
      client = new KeyClient(key.vaultUrl, credential, { disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 } });
      clients.set(key.vaultUrl, client);
    }
    return client.getKey(key.name, options);
  };
}

export async function startCmkFixture(): Promise<CmkFixture> {
  const fx = await startVaultFixture();
  const conn = fx.stack.azurite.connectionString;
  const tables = createTableFactory((name) => TableClient.fromConnectionString(conn, name, { allowInsecureConnection: true }));
  const clock = new ManualClock();
  const owner = new KeyClient(fx.stack.vault.url, customerAdmin(fx.stack.vault), { disableChallengeResourceVerification: true });
  const defaultReader = noRetryReader(fx.credential);
  const policy = (operatorVaults: readonly string[] = []): OwnershipPolicy => ({ operatorVaults, graceDays: GRACE_DAYS });
  const configDeps = (options: { readonly operatorVaults?: readonly string[]; readonly readKey?: KeyReader } = {}): CreateByokConfigDeps => ({
    tables,
    clock,
    allowLoopback: true,
    ownership: policy(options.operatorVaults),
    readKey: options.readKey ?? defaultReader,
  });
  return {
    fx,
    tables,
    clock,
    owner,
    policy,
    configDeps,
    create: (orgId, name, keyVaultKeyIdentifier, deps = configDeps()) =>
      createByokConfig(deps, tenant(orgId), { name, type: 'BYOK_CONFIG', imsOrgId: orgId, configData: { providerType: 'AZURE_KEYVAULT', keyVaultKeyIdentifier } }),
    view: (orgId, name, deps = configDeps()) => getByokConfig(deps, tenant(orgId), name),
    remove: (orgId, name, deps = configDeps()) => deleteByokConfig(deps, tenant(orgId), name),
    async customerKey(taggedFor) {
      return owner.createRsaKey(uniqueName('cmk'), {
        keySize: 3072,
        keyOps: ['wrapKey', 'unwrapKey'],
        ...(taggedFor === undefined ? {} : { tags: { [OWNER_TAG]: taggedFor } }),
      });
    },
    async setTags(key, tags) {
      await owner.updateKeyProperties(key.name, { tags });
    },
    async org(orgId, sandboxes, options = {}) {
      const system = await fx.newKek();
      const rootKeys = await fx.newTable();
      const orgs = await tables(ORG_KEYS_TABLE);
      const hierarchy = () =>
        createKeyHierarchy({
          tables: rootKeys,
          vault: guardCustomerKek(fx.vault, (kek) => !sameKey(kek, system.ref)),
          clock,
          random: systemRandom,
          resolveKek: customerKekResolver({ tables: orgs, system: () => Promise.resolve<KekRef>(system.ref) }),
          gate: createRevocationGate({ tables: orgs, clock, refreshMs: 0 }),
          cacheTtlSeconds: 300,
        });
      const keys = hierarchy();
      for (const sandbox of sandboxes) await keys.rootKey({ orgId, sandbox });
      const deps: ReconcileDeps = {
        tables,
        rootKeys,
        vault: fx.vault,
        readKey: options.readKey ?? defaultReader,
        clock,
        random: systemRandom,
        ownership: policy(options.operatorVaults),
        unreachableGiveUpMinutes: 60,
      };
      return { system, rootKeys, deps, hierarchy };
    },
    stop: () => fx.stop(),
  };
}

/**
 * Stores what the code before issue #17 left behind for an org that reached COMPLETED on `key`
 * without any proof of ownership: the config row (without the ownership columns), and the org's
 * key state naming it. The caller's root keys must already be wrapped under `key`.
 */
export async function installLegacyCompletedConfig(tables: TableFactory, orgId: string, name: string, key: KeyVaultKey, at: Date): Promise<void> {
  const vaultUrl = new URL(key.id ?? '').origin;
  const version = key.properties.version ?? '';
  const iso = at.toISOString();
  const table = await tables(BYOK_CONFIGS_TABLE);
  await table.createEntity(
    configEntity({
      orgId,
      name,
      id: `legacy-${name}`,
      status: 'COMPLETED',
      keyVaultKeyIdentifier: `${vaultUrl}/keys/${key.name}`,
      keyVaultUrl: vaultUrl,
      keyName: key.name,
      activeVersion: version,
      rewrapped: 0,
      history: ['NEW', 'RUNNING', 'UPDATE_EXISTING_RESOURCES', 'COMPLETED'].map((status) => ({ status: status as 'COMPLETED', at: iso })),
      createdAt: iso,
      updatedAt: iso,
    }),
  );
  await writeOrgKeyState(await tables(ORG_KEYS_TABLE), { orgId, configName: name, keyVaultUrl: vaultUrl, keyName: key.name, access: 'GRANTED', updatedAt: iso });
}
