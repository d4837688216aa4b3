import { createRequire } from 'node:module';
import type * as ExtensionsBase from '@azure/functions-extensions-base';
import type { BlobClient } from '@azure/storage-blob';
import { azureClients } from '../../shared/azure/clients.js';
import { appConfig } from '../../shared/config.js';
import { BLOB_BINDING_SOURCE, parseBlobBindingData } from '../../shared/storage/blob-binding-data.js';

// @azure/functions resolves SDK-type bindings through the CommonJS build of
// @azure/functions-extensions-base; an ESM import would get a second, empty registry.
const require = createRequire(import.meta.url);
const { ResourceFactoryResolver } = require('@azure/functions-extensions-base') as typeof ExtensionsBase;

/**
 * Lets blob triggers registered with `sdkBinding: true` receive a `BlobClient` for the blob that
 * landed, built with the app's own storage client (connection string or managed identity), so
 * the handler streams it rather than being handed the whole blob as bytes.
 */
function registerBlobClientFactory(): void {
  const resolver = ResourceFactoryResolver.getInstance();
  if (resolver.hasResourceFactory(BLOB_BINDING_SOURCE)) return;
  resolver.registerResourceFactory(BLOB_BINDING_SOURCE, (data): BlobClient => {
    const single = Array.isArray(data) ? data[0] : data;
    const binding = parseBlobBindingData(single?.content);
    if (binding.connection !== 'AzureWebJobsStorage') {
      throw new Error(`Blob binding connection "${binding.connection}" is not configured in this app`);
    }
    return azureClients(appConfig()).blobs.getContainerClient(binding.containerName).getBlobClient(binding.blobName);
  });
}

registerBlobClientFactory();
