import { basename } from 'node:path';
import { stat } from 'node:fs/promises';
import {
  AnonymousCredential,
  BlobServiceClient,
  ContainerClient,
  type StoragePipelineOptions,
} from '@azure/storage-blob';
import { matchesSourcePath } from '../shared/flows/source-path.js';
import { CliError } from './errors.js';
import { EXIT } from './exit-codes.js';

/** Block size and parallelism of uploads: 8 MiB blocks, 4 in flight (at most 32 MiB buffered). */
export const UPLOAD_BLOCK_BYTES = 8 * 1024 * 1024;
export const UPLOAD_CONCURRENCY = 4;

/**
 * The blob name a file gets so that a flow with source path `sourcePath` picks it up:
 * `{org}/{sandbox}/{folders}/{name}`, `name` being `preferred` (default: the file's own name, or
 * the path's file name when the path names one file). Pure.
 * @throws CliError (exit 2) when the name does not match the flow's pattern.
 */
export function landingBlobName(options: {
  readonly org: string;
  readonly sandbox: string;
  readonly sourcePath: string;
  readonly file: string;
  readonly preferred?: string;
}): { readonly blobName: string; readonly relativePath: string } {
  const segments = options.sourcePath.replace(/^\//, '').split('/');
  const last = segments.pop() ?? '';
  const concrete = !/[*?]/.test(last);
  const name = options.preferred ?? (concrete ? last : basename(options.file));
  const relativePath = [...segments, name].join('/');
  if (!matchesSourcePath(options.sourcePath, relativePath)) {
    throw new CliError(
      `${name} does not match the flow's source path ${options.sourcePath}; rename the file or pass --as NAME`,
      EXIT.USAGE,
    );
  }
  return { blobName: `${options.org}/${options.sandbox}/${relativePath}`, relativePath };
}

/**
 * The landing container: from a container SAS URL, or a storage connection string (Azurite's
 * `UseDevelopmentStorage=true` locally).
 */
export function landingContainer(options: {
  readonly containerUrl?: string;
  readonly connectionString?: string;
  readonly container: string;
}): ContainerClient {
  const pipelineOptions: StoragePipelineOptions = { retryOptions: { maxTries: 4 } };
  if (options.containerUrl !== undefined)
    return new ContainerClient(options.containerUrl, new AnonymousCredential(), pipelineOptions);
  if (options.connectionString === undefined) {
    throw new CliError(
      'no storage to upload to: pass --container-url (a SAS URL) or set AZURE_STORAGE_CONNECTION_STRING',
      EXIT.USAGE,
    );
  }
  try {
    return BlobServiceClient.fromConnectionString(options.connectionString, pipelineOptions).getContainerClient(
      options.container,
    );
  } catch (err) {
    throw new CliError('the storage connection string is not valid', EXIT.USAGE, { cause: err });
  }
}

/**
 * Uploads a file as a block blob: staged blocks of {@link UPLOAD_BLOCK_BYTES}, then one commit,
 * whatever its size (the SDK would otherwise send files up to 256 MiB in one Put Blob, whose
 * failure retries the whole file). Only an empty file goes up in one request. Reports bytes sent.
 */
export async function uploadFile(
  container: ContainerClient,
  file: string,
  blobName: string,
  onProgress: (bytes: number) => void,
): Promise<{ readonly etag: string; readonly bytes: number }> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT.ERROR, {
      cause: err,
    });
  }
  try {
    const result = await container.getBlockBlobClient(blobName).uploadFile(file, {
      blockSize: UPLOAD_BLOCK_BYTES,
      maxSingleShotSize: 0,
      concurrency: UPLOAD_CONCURRENCY,
      onProgress: (ev) => onProgress(ev.loadedBytes),
    });
    return { etag: result.etag ?? '', bytes: size };
  } catch (err) {
    const status = (err as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number' && (status === 401 || status === 403)) {
      throw new CliError(`storage refused the upload (HTTP ${status})`, EXIT.AUTH, { cause: err });
    }
    if (typeof status === 'number')
      throw new CliError(`storage refused the upload (HTTP ${status})`, EXIT.ERROR, { cause: err });
    throw new CliError(`cannot reach storage: ${(err as Error).message}`, EXIT.NETWORK, { cause: err });
  }
}
