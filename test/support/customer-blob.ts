import type { Readable } from 'node:stream';
import {
  ContainerSASPermissions,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { DEV_ACCOUNT, DEV_ACCOUNT_KEY, type AzuriteInstance } from '../../local/azurite.js';
import { AppError } from '../../shared/errors.js';
import { parseAzureBlobCredential, type AzureBlobSource } from '../../shared/sources/azure-blob-credential.js';

/**
 * A customer's container as the Azure Blob reader meets it in tests: a container of Azurite's
 * development account, reached only through a SAS (signed here with the well-known key) or a
 * connection string.
 */

const devKey = new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_ACCOUNT_KEY);

/** A container SAS query (no `?`) over the development account; one hour by default. */
export function containerSas(
  container: string,
  permissions: string,
  expiresOn = new Date(Date.now() + 3_600_000),
): string {
  return generateBlobSASQueryParameters(
    { containerName: container, permissions: ContainerSASPermissions.parse(permissions), expiresOn },
    devKey,
  ).toString();
}

/** `containerSas` with its signature replaced by another valid-looking one. */
export function wronglySigned(query: string): string {
  return query.replace(/sig=[^&]*/, `sig=${encodeURIComponent(Buffer.alloc(32, 7).toString('base64'))}`);
}

/** The source a customer's SAS URI (read and list) for `container` parses to, in local mode. */
export function sasSource(
  azurite: AzuriteInstance,
  container: string,
  options: { readonly folderPath?: string; readonly endpoint?: string } = {},
): AzureBlobSource {
  return parseAzureBlobCredential(
    {
      specName: 'SAS URI Authentication',
      sasUri: `${options.endpoint ?? azurite.blobEndpoint}/${container}?${containerSas(container, 'rl')}`,
      ...(options.folderPath === undefined ? {} : { folderPath: options.folderPath }),
    },
    { allowLoopbackHttp: true },
  );
}

/** The source of a connection string with the development account's key, in local mode. */
export function keySource(
  azurite: AzuriteInstance,
  location: { readonly container?: string; readonly folderPath?: string } = {},
): AzureBlobSource {
  return parseAzureBlobCredential(
    {
      specName: 'ConnectionString',
      connectionString: `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_ACCOUNT_KEY};BlobEndpoint=${azurite.blobEndpoint};`,
      ...location,
    },
    { allowLoopbackHttp: true },
  );
}

/** The AppError a promise (or a stream's consumption) fails with. */
export async function refusal(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

/** Every byte of a stream (tests only: the files read here are a few MiB at most). */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}

/** Every item of an async iterable. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
