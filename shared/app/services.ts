import type { TableClient } from '@azure/data-tables';
import { customerKekResolver } from '../cmk/customer-kek-resolver.js';
import { guardCustomerKek } from '../cmk/customer-kek-guard.js';
import { ORG_KEYS_TABLE } from '../cmk/org-key-state.js';
import { createRevocationGate } from '../cmk/revocation-gate.js';
import type { KeyReader } from '../cmk/validate-cmk-key.js';
import type { AppConfig, CmkSettings } from '../config/app-config.js';
import { cacheHealthCheck } from '../health/cached-health-check.js';
import { checkHealth, type HealthCheck } from '../health/check-health.js';
import type { Logger } from '../logging/logger.js';
import { BATCHES_TABLE } from '../catalog/batches.js';
import { DATASETS_TABLE } from '../catalog/datasets.js';
import { FLOW_RUNS_TABLE } from '../flows/runs.js';
import { FLOWS_TABLE } from '../flows/lib/flow-entity.js';
import { SOURCE_CONNECTIONS_TABLE } from '../flows/source-connections.js';
import { TARGET_CONNECTIONS_TABLE } from '../flows/target-connections.js';
import { CUSTOMER_KEYS_TABLE } from '../pgp-keys/customer-keys.js';
import { ENCRYPTION_KEYS_TABLE } from '../pgp-keys/encryption-keys.js';
import { createPrivateKeyPool, type PrivateKeyPool } from '../pgp/private-key-pool.js';
import { deleteLandingZone, landingZoneHasFiles, type LandingZoneDeps } from '../landing-zones/landing-zones.js';
import { createSasSigner } from '../landing-zones/sas-signer.js';
import { createSandboxGate, type SandboxGate } from '../sandboxes/sandbox-gate.js';
import { backfillSandboxes, sandboxExists, type SandboxDeps, type SandboxHolding } from '../sandboxes/sandboxes.js';
import { createEncryptedObjectStore, type EncryptedObjectStore } from '../storage/encrypted-object-store.js';
import { createTableFactory, partitionHasRows, type TableFactory } from '../storage/tenant-table.js';
import type { Clock } from '../core/clock.js';
import { createKeyVaultKekClient, type KekClient } from '../vault/kek-client.js';
import type { KekResolver } from '../vault/kek-resolver.js';
import { createKeyHierarchy, type KeyHierarchy } from '../vault/key-hierarchy.js';
import { sameKey, type KekRef } from '../vault/key-vault-key-id.js';
import type { Random } from '../core/random.js';
import { ROOT_KEYS_TABLE } from '../vault/root-key-record.js';
import { ensureSystemKek } from '../vault/system-kek.js';
import { azureClients, type AzureClients } from '../azure/clients.js';
import { armAccountKey } from '../azure/landing-account-key.js';
import { createHpkeServices, type HpkeServices } from '../hpke/hpke-services.js';
import { BASE_CONNECTIONS_TABLE, type BaseConnectionDeps } from '../flows/base-connections.js';
import type { EnqueueJob } from '../ingestion/source-jobs.js';
import { createOutboundGuard } from '../outbound/outbound-guard.js';
import { createSourceOpener } from '../sources/open-source.js';

/** What the functions hand to the domain: configuration, clients, tables and the key hierarchy. */
export interface AppServices {
  /** The one configuration, parsed at start. */
  readonly config: AppConfig;
  /** The one clock, random source and logger every service is built with. */
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /**
   * Refuses a caller whose `x-sandbox-name` names no sandbox of the org (the pipeline's check);
   * `sandboxes-delete` tells it of a deletion.
   */
  readonly sandboxGate: SandboxGate;
  /** Whether storage and the system vault answer, probed at most every `HEALTH_PROBE_SECONDS`. */
  readonly health: HealthCheck;
  readonly clients: AzureClients;
  readonly tables: TableFactory;
  readonly keys: KeyHierarchy;
  readonly objects: EncryptedObjectStore;
  readonly cmk: CmkServices;
  /** Sandboxes as resources: what each can hold, and the once-per-process backfill. */
  readonly sandboxes: SandboxDeps;
  /** Landing zones: the landing account (apart from internal storage) and its SAS signer. */
  readonly landing: LandingZoneDeps;
  /**
   * The system KEK, resolved once per process (created if absent in local mode), shared by the
   * key hierarchy and the system-KEK rotation timer so they never both create it.
   */
  readonly systemKek: () => Promise<KekRef>;
  /** The worker threads of every private-key operation (`PRIVATE_KEY_WORKERS`, `PRIVATE_KEY_WAITING`). */
  readonly privateKeys: PrivateKeyPool;
  /** API payload encryption: server keys, replay cache, client keys and org settings. */
  readonly hpke: HpkeServices;
  /** Customers' own storage: base connections (credentials encrypted, destinations checked) and the ingestion queue's jobs. */
  readonly sources: SourceServices;
}

/** What reading customers' storage needs. */
export interface SourceServices {
  /** Base connections with their stored credentials, opened through the outbound guard. */
  readonly connections: BaseConnectionDeps;
  /** Puts a scan or file job on the ingestion queue (the landing events queue). */
  readonly enqueue: EnqueueJob;
}

/** What the CMK functions (API and reconciler) need besides the tables. */
export interface CmkServices {
  readonly settings: CmkSettings;
  /** The raw KEK client: refusals keep their KEK_* codes (the reconciler tells them apart). */
  readonly vault: KekClient;
  readonly readKey: KeyReader;
  /** The key hierarchy's `rootkeys` table. */
  readonly rootKeys: TableClient;
}

/** How long an instance trusts that a sandbox it saw still exists (a deleted one stays usable there that long). */
const SANDBOX_GATE_TTL_MS = 30_000;

/** What every service is built with: the one configuration, clock, random source and logger. */
export interface ServiceBasics {
  readonly config: AppConfig;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
}

/**
 * Builds every service from the basics (`root.ts` does, once per process). Collaborators are
 * created here and passed down, never reached for from inside the domain.
 */
export async function buildServices({ config, clock, random, logger }: ServiceBasics): Promise<AppServices> {
  const clients = azureClients(config);
  const tables = createTableFactory((name) => clients.table(name));
  const local = config.environment === 'local';
  // In local mode the system KEK is created on first use if absent; in production it is
  // provisioned with the vault and only referenced.
  let ensured: Promise<KekRef> | undefined;
  const systemKek = (): Promise<KekRef> => {
    ensured ??= ensureSystemKek(
      { keys: clients.keys(config.systemKeyVaultUrl) },
      { name: config.systemKeyName, environment: config.environment },
    ).catch((err: unknown) => {
      ensured = undefined;
      throw err;
    });
    return ensured;
  };
  const resolveKek: KekResolver = () => systemKek();
  const vault = createKeyVaultKekClient({ credential: clients.credential, allowLoopback: local });
  const rootKeys = await tables(ROOT_KEYS_TABLE);
  const orgKeys = await tables(ORG_KEYS_TABLE);
  const systemKekRef: KekRef = { vaultUrl: new URL(config.systemKeyVaultUrl).origin, name: config.systemKeyName };
  const keys = createKeyHierarchy({
    tables: rootKeys,
    // A customer key's refusal is CMK_ACCESS_REVOKED; the org's key replaces the system KEK once
    // its config reaches UPDATE_EXISTING_RESOURCES; a revoked org fails closed even on cached keys.
    vault: guardCustomerKek(vault, (kek) => !sameKey(kek, systemKekRef)),
    clock,
    random,
    resolveKek: customerKekResolver({ tables: orgKeys, system: resolveKek }),
    gate: createRevocationGate({ tables: orgKeys, clock, refreshMs: Math.min(config.keyCache.cacheTtlSeconds * 1000, 5_000) }),
    cacheTtlSeconds: config.keyCache.cacheTtlSeconds,
    maxStaleSeconds: config.keyCache.maxStaleSeconds,
  });
  const cmk: CmkServices = {
    settings: config.cmk,
    vault,
    readKey: (key) => clients.keys(key.vaultUrl).getKey(key.name),
    rootKeys,
  };
  const landing: LandingZoneDeps = {
    tables,
    blobs: clients.landingBlobs,
    signer: landingSigner(config, clients),
    random,
    sasDays: config.landing.sasDays,
    ttlDays: config.landing.ttlDays,
  };
  const objects = createEncryptedObjectStore({ blobs: clients.blobs, keys });
  const vaultForHealth = clients.keys(config.systemKeyVaultUrl);
  const sandboxes = sandboxDeps(tables, landing);
  const guard = createOutboundGuard({ allowLoopback: local });
  const ingestionQueue = clients.queues.getQueueClient(config.triggers.landingEventsQueue);
  const sources: SourceServices = {
    connections: { tables, clock, objects, openSource: createSourceOpener({ guard, local }) },
    // The host reads the queue's messages as Base64 (host.json messageEncoding).
    enqueue: async (job) => {
      await ingestionQueue.sendMessage(Buffer.from(JSON.stringify(job)).toString('base64'));
    },
  };
  return {
    config,
    clock,
    random,
    logger,
    health: cacheHealthCheck((log) => checkHealth({ blobs: clients.blobs, vault: vaultForHealth, log }), { intervalMs: config.healthProbeSeconds * 1000 }),
    clients,
    tables,
    keys,
    objects,
    hpke: createHpkeServices({ tables, objects }, { clock, lifetimeMs: config.hpke.keyLifetimeMs }),
    cmk,
    sandboxes,
    sandboxGate: createSandboxGate((scope) => sandboxExists(sandboxes, scope), { ttlMs: SANDBOX_GATE_TTL_MS }),
    landing,
    systemKek,
    privateKeys: createPrivateKeyPool(config.privateKeyPool),
    sources,
  };
}

/** Azurite's key from the connection string locally; in Azure the key read through the managed identity. */
function landingSigner(config: AppConfig, clients: AzureClients) {
  const storage = config.landing.storage;
  if (storage.kind === 'identity') return createSasSigner(storage.accountName, armAccountKey(clients.credential, storage.accountResourceId));
  return createSasSigner(storage.accountName, () => Promise.resolve(storage.accountKey));
}

/**
 * What a sandbox holds, store by store (each keyed `{org}|{sandbox}`): a sandbox is deleted only
 * when all are empty, and sandboxes that held data before they were resources are found from them.
 */
const SANDBOX_DATA: readonly { readonly what: string; readonly table: string }[] = [
  { what: 'datasets', table: DATASETS_TABLE },
  { what: 'batches', table: BATCHES_TABLE },
  { what: 'encryption keys', table: ENCRYPTION_KEYS_TABLE },
  { what: 'customer keys', table: CUSTOMER_KEYS_TABLE },
  { what: 'source connections', table: SOURCE_CONNECTIONS_TABLE },
  { what: 'target connections', table: TARGET_CONNECTIONS_TABLE },
  { what: 'dataflows', table: FLOWS_TABLE },
  { what: 'dataflow runs', table: FLOW_RUNS_TABLE },
  { what: 'connections', table: BASE_CONNECTIONS_TABLE },
];

function sandboxDeps(tables: TableFactory, landing: LandingZoneDeps): SandboxDeps {
  let backfilled: Promise<void> | undefined;
  return {
    tables,
    holdings: [
      ...SANDBOX_DATA.map(({ what, table }): SandboxHolding => ({ what, inUse: (scope) => partitionHasRows(tables, table, scope) })),
      { what: 'files in its landing zone', inUse: (scope) => landingZoneHasFiles(landing, scope), release: (scope) => deleteLandingZone(landing, scope) },
    ],
    backfill: () => {
      backfilled ??= backfillSandboxes({ tables }, SANDBOX_DATA.map((d) => d.table)).then(
        () => undefined,
        (err: unknown) => {
          backfilled = undefined;
          throw err;
        },
      );
      return backfilled;
    },
  };
}
