import { TableClient } from '@azure/data-tables';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { KeyClient } from '@azure/keyvault-keys';
import { BlobServiceClient } from '@azure/storage-blob';
import type { AppConfig } from '../config.js';
import { isLoopbackUrl } from './loopback.js';

/** The Azure SDK clients the app uses, built once per process. */
export interface AzureClients {
  readonly credential: TokenCredential;
  readonly blobs: BlobServiceClient;
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
      credential ??= new DefaultAzureCredential();
      return credential.getToken(scopes, options);
    },
  };
  const storage = config.storage;
  const blobs =
    storage.kind === 'connectionString'
      ? BlobServiceClient.fromConnectionString(storage.connectionString)
      : new BlobServiceClient(storage.blobServiceUri, lazyCredential);
  const keyClients = new Map<string, KeyClient>();
  return {
    credential: lazyCredential,
    blobs,
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
