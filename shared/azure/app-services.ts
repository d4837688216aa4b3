import type { AppConfig } from '../config.js';
import { appConfig } from '../config.js';
import { createEncryptedObjectStore, type EncryptedObjectStore } from '../storage/encrypted-object-store.js';
import { createTableFactory, type TableFactory } from '../storage/tenant-table.js';
import { systemClock } from '../vault/clock.js';
import { createKeyVaultKekClient } from '../vault/kek-client.js';
import type { KekResolver } from '../vault/kek-resolver.js';
import { createKeyHierarchy, type KeyHierarchy } from '../vault/key-hierarchy.js';
import { systemRandom } from '../vault/random.js';
import { ROOT_KEYS_TABLE } from '../vault/root-key-record.js';
import { ensureSystemKek } from '../vault/system-kek.js';
import { azureClients, type AzureClients } from './clients.js';

/** What the functions hand to the domain: configuration, clients, tables and the key hierarchy. */
export interface AppServices {
  readonly config: AppConfig;
  readonly clients: AzureClients;
  readonly tables: TableFactory;
  readonly keys: KeyHierarchy;
  readonly objects: EncryptedObjectStore;
}

/**
 * Built once per process on first use; a bad configuration throws a ConfigError naming it.
 * Collaborators are created here and passed down, never reached for from inside the domain.
 */
export async function appServices(): Promise<AppServices> {
  cached ??= build().catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  return cached;
}

let cached: Promise<AppServices> | undefined;

async function build(): Promise<AppServices> {
  const config = appConfig();
  const clients = azureClients(config);
  const tables = createTableFactory((name) => clients.table(name));
  const local = config.environment === 'local';
  // In local mode the system KEK is created on first use if absent; in production it is
  // provisioned with the vault and only referenced.
  let systemKek: ReturnType<KekResolver> | undefined;
  const resolveKek: KekResolver = () => {
    systemKek ??= ensureSystemKek(
      { keys: clients.keys(config.systemKeyVaultUrl) },
      { name: config.systemKeyName, environment: config.environment },
    ).catch((err: unknown) => {
      systemKek = undefined;
      throw err;
    });
    return systemKek;
  };
  const keys = createKeyHierarchy({
    tables: await tables(ROOT_KEYS_TABLE),
    vault: createKeyVaultKekClient({ credential: clients.credential, allowLoopback: local }),
    clock: systemClock,
    random: systemRandom,
    resolveKek,
    cacheTtlSeconds: config.keyCache.cacheTtlSeconds,
    maxStaleSeconds: config.keyCache.maxStaleSeconds,
  });
  return { config, clients, tables, keys, objects: createEncryptedObjectStore({ blobs: clients.blobs, keys }) };
}
