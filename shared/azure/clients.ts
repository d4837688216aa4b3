import { TableClient } from '@azure/data-tables';
import { ClientAssertionCredential, DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { KeyClient } from '@azure/keyvault-keys';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import type { AppConfig } from '../config/app-config.js';
import { isLoopbackUrl } from '../core/loopback.js';
import { tenantRoutingCredential } from './tenant-routing-credential.js';

/** The Azure SDK clients the app uses, built once per process. */
export interface AzureClients {
  readonly credential: TokenCredential;
  readonly blobs: BlobServiceClient;
  /** The landing account's blob service (the zones); never the internal account. */
  readonly landingBlobs: BlobServiceClient;
  /** The app's storage queues (the ingestion queue the scheduled dataflows add their jobs to). */
  readonly queues: QueueServiceClient;
  table(name: string): TableClient;
  keys(vaultUrl: string): KeyClient;
}

/**
 * Builds the production clients: storage from the connection string or managed identity, Key
 * Vault through `DefaultAzureCredential` (managed identity in Azure; locally the Key Vault
 * emulator's identity endpoint answers the same protocol).
 */
export function createAzureClients(config: AppConfig): AzureClients {
  let credential: TokenCredential | undefined;
  const lazyCredential: TokenCredential = {
    getToken: (scopes, options) => {
      credential ??= appCredential(config);
      return credential.getToken(scopes, options);
    },
  };
  const storage = config.storage;
  const blobs =
    storage.kind === 'connectionString'
      ? BlobServiceClient.fromConnectionString(storage.connectionString)
      : new BlobServiceClient(storage.blobServiceUri, lazyCredential);
  const landing = config.landing.storage;
  const landingBlobs =
    landing.kind === 'connectionString'
      ? BlobServiceClient.fromConnectionString(landing.connectionString)
      : new BlobServiceClient(landing.blobServiceUri, lazyCredential);
  const queues =
    storage.kind === 'connectionString'
      ? QueueServiceClient.fromConnectionString(storage.connectionString)
      : new QueueServiceClient(storage.queueServiceUri, lazyCredential);
  const keyClients = new Map<string, KeyClient>();
  return {
    credential: lazyCredential,
    blobs,
    landingBlobs,
    queues,
    table: (name) =>
      storage.kind === 'connectionString'
        ? TableClient.fromConnectionString(storage.connectionString, name, {
            allowInsecureConnection: isLoopbackUrl(tableEndpoint(storage.connectionString)),
          })
        : new TableClient(storage.tableServiceUri, name, lazyCredential),
    keys: (vaultUrl) => {
      let client = keyClients.get(vaultUrl);
      if (client === undefined) {
        // The challenge policy checks that the vault's host matches the token resource's domain
        // (vault.azure.net); the loopback emulator cannot, so the check is relaxed for it only.
        client = new KeyClient(vaultUrl, lazyCredential, {
          disableChallengeResourceVerification: isLoopbackUrl(vaultUrl),
        });
        keyClients.set(vaultUrl, client);
      }
      return client;
    },
  };
}

// The audience a managed identity's token must have to be exchanged for an app's token (workload
// identity federation: the CMK app trusts our managed identity through a federated credential).
const TOKEN_EXCHANGE_SCOPE = 'api://AzureADTokenExchange/.default';

/**
 * The managed identity (DefaultAzureCredential) for our own tenant; in production with a CMK app
 * and our tenant id configured, customers' tenants are reached as the CMK app, authenticated by a
 * managed identity token instead of a secret. Locally the emulators share one tenant.
 */
function appCredential(config: AppConfig): TokenCredential {
  const home = new DefaultAzureCredential();
  const crossTenant = config.crossTenant;
  if (config.environment !== 'production' || crossTenant === undefined) return home;
  const exchange = new ManagedIdentityCredential(
    crossTenant.managedIdentityClientId === undefined ? {} : { clientId: crossTenant.managedIdentityClientId },
  );
  const assertion = async (): Promise<string> => {
    const token = await exchange.getToken(TOKEN_EXCHANGE_SCOPE);
    return token.token;
  };
  return tenantRoutingCredential(home, crossTenant.homeTenantId, (tenantId) =>
    new ClientAssertionCredential(tenantId, crossTenant.appClientId, assertion),
  );
}

function tableEndpoint(connectionString: string): string {
  const match = /TableEndpoint=([^;]+)/i.exec(connectionString);
  return match?.[1] ?? 'https://table.core.windows.net';
}

let cached: AzureClients | undefined;

/** The process's clients, created on first use from {@link AppConfig}. */
export function azureClients(config: AppConfig): AzureClients {
  cached ??= createAzureClients(config);
  return cached;
}
