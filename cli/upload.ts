import { basename } from 'node:path';
import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { AnonymousCredential, ContainerClient } from '@azure/storage-blob';
import { statusCodeOf } from '../shared/core/azure-errors.js';
import { matchesSourcePath } from '../shared/flows/source-path.js';
import { CliError } from './errors.js';
import { EXIT } from './exit-codes.js';

/** Block size and parallelism of uploads: 8 MiB blocks, 4 in flight (at most 32 MiB buffered). */
export const UPLOAD_BLOCK_BYTES = 8 * 1024 * 1024;
export const UPLOAD_CONCURRENCY = 4;

/**
 * How long, from the start of an upload, storage's 403 is taken for a credential not yet in force
 * and retried: Azure may take up to 30 s to apply a refreshed landing zone credential.
 */
export const SAS_WAIT_MS = 35_000;
const FIRST_RETRY_DELAY_MS = 1_000;
const MAX_RETRY_DELAY_MS = 8_000;

/** Azure's limits on a blob name. */
const BLOB_NAME_MAX_LENGTH = 1024;
const BLOB_NAME_MAX_SEGMENTS = 254;

/**
 * The blob path a file gets in the landing zone from an explicit `BLOB_PATH`: a leading `/` is
 * dropped, and a path ending in `/` names a folder, the file keeping its own name. Pure.
 * @throws CliError (exit 2) for an empty segment, `.` or `..`, a backslash or a control character,
 * or a path over Azure's limits (the SDK would otherwise send a different name than the one asked).
 */
export function zoneBlobPath(blobPath: string | undefined, file: string): string {
  let path = (blobPath ?? '').replace(/^\/+/, '');
  if (path === '' || path.endsWith('/')) path += basename(file);
  const segments = path.split('/');
  // eslint-disable-next-line no-control-regex
  if (segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('\\') || /[\u0000-\u001f\u007f]/.test(s)))
    throw new CliError(`${path} is not a blob path: use folder/name, without empty, "." or ".." segments`, EXIT.USAGE);
  if (path.length > BLOB_NAME_MAX_LENGTH || segments.length > BLOB_NAME_MAX_SEGMENTS)
    throw new CliError(
      `${path.slice(0, 64)}… is too long for a blob name (${BLOB_NAME_MAX_LENGTH} characters, ${BLOB_NAME_MAX_SEGMENTS} segments)`,
      EXIT.USAGE,
    );
  return path;
}

/**
 * The blob path a file gets in the landing zone so that a flow with source path `sourcePath`
 * picks it up: the path's folders, then `preferred` (default: the file's own name, or the path's
 * file name when the path names one file). Pure.
 * @throws CliError (exit 2) when the name does not match the flow's pattern.
 */
export function flowBlobPath(options: {
  readonly sourcePath: string;
  readonly file: string;
  readonly preferred?: string;
}): string {
  const segments = options.sourcePath.replace(/^\//, '').split('/');
  const last = segments.pop() ?? '';
  const concrete = !/[*?]/.test(last);
  const name = options.preferred ?? (concrete ? last : basename(options.file));
  const path = [...segments, name].join('/');
  assertFlowPicksUp(options.sourcePath, path);
  return path;
}

/** @throws CliError (exit 2) when a flow with source path `sourcePath` would not pick up `path`. */
export function assertFlowPicksUp(sourcePath: string, path: string): void {
  if (!matchesSourcePath(sourcePath, path)) {
    throw new CliError(
      `${path} does not match the flow's source path ${sourcePath}; rename the file or choose another path`,
      EXIT.USAGE,
    );
  }
}

/**
 * A container client on a container SAS URL, the only credential uploads use.
 * @throws CliError (exit 2) when `sasUrl` is not an http(s) URL carrying a SAS signature.
 */
export function zoneContainer(sasUrl: string): ContainerClient {
  let url: URL;
  try {
    url = new URL(sasUrl);
  } catch {
    throw new CliError('the container URL is not a URL', EXIT.USAGE);
  }
  // The URL is not quoted in messages: its query is the secret.
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || !url.searchParams.has('sig'))
    throw new CliError('the container URL must be a container SAS URL (https://…/CONTAINER?sv=…&sig=…)', EXIT.USAGE);
  return new ContainerClient(url.href, new AnonymousCredential(), { retryOptions: { maxTries: 4 } });
}

/** A retry of a refused request, for a progress line. */
export interface ForbiddenRetry {
  readonly attempt: number;
  readonly delayMs: number;
  /** Milliseconds left in the wait. */
  readonly remainingMs: number;
}

export interface RetryForbiddenOptions {
  /** How long, from the first attempt, a 403 is retried; 0 never retries. */
  readonly waitMs: number;
  readonly onRetry?: (retry: ForbiddenRetry) => void;
  /** Milliseconds, monotonic (tests pass a fake). */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<unknown>;
}

/**
 * Runs `attempt` and, while less than `waitMs` has passed since the first try, runs it again after
 * storage answers 403, with delays of 1, 2, 4, then 8 s (the last one shortened to end the wait).
 * Any other failure, and a 403 after the wait, is thrown as it came.
 */
export async function retryForbidden<T>(
  attempt: (n: number) => Promise<T>,
  options: RetryForbiddenOptions,
): Promise<T> {
  const now = options.now ?? (() => performance.now());
  const pause = options.sleep ?? sleep;
  const started = now();
  let delay = FIRST_RETRY_DELAY_MS;
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      const remainingMs = options.waitMs - (now() - started);
      if (statusCodeOf(err) !== 403 || remainingMs <= 0) throw err;
      const delayMs = Math.min(delay, remainingMs);
      options.onRetry?.({ attempt: n, delayMs, remainingMs });
      await pause(delayMs);
      delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
    }
  }
}

export interface ZoneUploadOptions {
  /**
   * The zone's SAS URL, asked for again before every attempt: from the API, a retry picks up a
   * credential refreshed in the meantime.
   */
  readonly sasUrl: () => Promise<string>;
  readonly file: string;
  readonly blobPath: string;
  readonly onProgress?: (bytes: number) => void;
  /** See {@link SAS_WAIT_MS} (the default). */
  readonly sasWaitMs?: number;
  readonly onRetry?: (retry: ForbiddenRetry) => void;
}

export interface ZoneUploadResult {
  readonly containerName: string;
  readonly blobPath: string;
  readonly etag: string;
  readonly bytes: number;
}

/**
 * Uploads a file into a landing zone as a block blob, streaming from disk: staged blocks of
 * {@link UPLOAD_BLOCK_BYTES}, then one commit, whatever its size (the SDK would otherwise send
 * files up to 256 MiB in one Put Blob, whose failure retries the whole file). Only an empty file
 * goes up in one request. A 403 in the first {@link SAS_WAIT_MS} restarts the upload (see
 * {@link retryForbidden}); a later one means the credential was revoked or has expired.
 * @throws CliError exit 3 when storage refuses the credential, 4 when it cannot be reached, 1
 * otherwise (an unreadable file, another refusal).
 */
export async function uploadToZone(options: ZoneUploadOptions): Promise<ZoneUploadResult> {
  let size: number;
  try {
    size = (await stat(options.file)).size;
  } catch (err) {
    throw new CliError(
      `cannot read ${options.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      EXIT.ERROR,
      { cause: err },
    );
  }
  let containerName = '';
  try {
    const etag = await retryForbidden(
      async () => {
        const container = zoneContainer(await options.sasUrl());
        containerName = container.containerName;
        const result = await container.getBlockBlobClient(options.blobPath).uploadFile(options.file, {
          blockSize: UPLOAD_BLOCK_BYTES,
          maxSingleShotSize: 0,
          concurrency: UPLOAD_CONCURRENCY,
          onProgress: (ev) => options.onProgress?.(ev.loadedBytes),
        });
        return result.etag ?? '';
      },
      {
        waitMs: options.sasWaitMs ?? SAS_WAIT_MS,
        ...(options.onRetry === undefined ? {} : { onRetry: options.onRetry }),
      },
    );
    return { containerName, blobPath: options.blobPath, etag, bytes: size };
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw storageError(err);
  }
}

function storageError(err: unknown): CliError {
  const status = statusCodeOf(err);
  if (status === 403)
    return new CliError(
      'storage refused the landing zone credential (HTTP 403): it was revoked by a refresh, or has expired',
      EXIT.AUTH,
      { cause: err },
    );
  if (status === 401) return new CliError('storage refused the upload (HTTP 401)', EXIT.AUTH, { cause: err });
  if (status === 404)
    return new CliError('the landing zone container does not exist (HTTP 404)', EXIT.ERROR, { cause: err });
  if (status !== undefined)
    return new CliError(`storage refused the upload (HTTP ${status})`, EXIT.ERROR, { cause: err });
  return new CliError(`cannot reach storage: ${(err as Error).message}`, EXIT.NETWORK, { cause: err });
}
