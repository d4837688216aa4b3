import { Readable } from 'node:stream';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import {
  AnonymousCredential,
  BlobClient,
  BlobServiceClient,
  ContainerClient,
  newPipeline,
  StorageSharedKeyCredential,
  type BlobItem,
  type Pipeline,
  type StoragePipelineOptions,
} from '@azure/storage-blob';
import { isNotFound } from '../core/azure-errors.js';
import { SourceError } from '../errors.js';
import type { OutboundGuard } from '../outbound/outbound-guard.js';
import { describeAzureBlobSource, isAzureContainerName, type AzureBlobSource } from './azure-blob-credential.js';
import { secretsOf, toSourceError, type FailureContext } from './lib/azure-blob-failure.js';
import { relativeSegments } from './lib/relative-path.js';
import {
  MAX_WALK_DEPTH,
  type SourceEntry,
  type SourceFile,
  type SourcePage,
  type SourceReader,
} from './source-reader.js';

/** How long one request may wait for the start of an answer (and one listing page for all of it). */
export const BLOB_REQUEST_TIMEOUT_MS = 30_000;
/** How long a download may go without a byte before it is given up. */
export const BLOB_READ_IDLE_TIMEOUT_MS = 60_000;
/** Blobs per page of a walk: one page is all a walk holds in memory. */
export const BLOB_WALK_PAGE_SIZE = 1000;
/** The most entries Azure answers in one listing page. */
export const BLOB_MAX_PAGE_SIZE = 5000;
/** Times a download resumes (If-Match the same ETag, from where it broke off) after a broken connection. */
export const BLOB_DOWNLOAD_RETRIES = 5;

/**
 * A small retry budget: an unreachable host fails in about a second (three tries, 0.5 s then 1 s
 * apart), not the SDK's default minutes. `tryTimeoutInMs` is the service-side timeout; the wait
 * for an answer is bounded by {@link BLOB_REQUEST_TIMEOUT_MS}.
 */
const RETRY_OPTIONS = {
  maxTries: 3,
  tryTimeoutInMs: BLOB_REQUEST_TIMEOUT_MS,
  retryDelayInMs: 500,
  maxRetryDelayInMs: 2_000,
};

const HNS_FOLDER_METADATA = 'hdi_isfolder';
const MAX_BLOB_NAME_LENGTH = 1024;
// An ETag as this reader hands it out (unquoted), safe to quote into If-Match.
const VERSION = /^[\x21\x23-\x7e]{1,256}$/;

export interface AzureBlobReaderOptions {
  /** Checks the endpoint's host before the first request (SSRF): a refused address fails fast. */
  readonly guard: OutboundGuard;
  /**
   * Added to every client's pipeline, per attempt and after signing, next to the transport:
   * fit for transport settings such as `request.agent` (the outbound guard's pinned agent), not
   * for changing what is signed.
   */
  readonly pipelinePolicies?: readonly PipelinePolicy[];
  /** Default {@link BLOB_REQUEST_TIMEOUT_MS}; tests shorten it. */
  readonly requestTimeoutMs?: number;
  /** Default {@link BLOB_READ_IDLE_TIMEOUT_MS}; tests shorten it. */
  readonly readIdleTimeoutMs?: number;
}

/**
 * The core-client options the storage SDK passes through to each client's pipeline although its
 * `StoragePipelineOptions` type does not list them.
 */
interface PassedThroughOptions {
  readonly additionalPolicies?: { readonly policy: PipelinePolicy; readonly position: 'perCall' | 'perRetry' }[];
  readonly redirectOptions?: { readonly maxRetries: number };
}

/** Where an account-space path lies: a container and a blob-name prefix (`''` or ending in `/`). */
interface Location {
  readonly container: string;
  readonly prefix: string;
}

interface BlobPage {
  readonly prefixes: readonly string[];
  readonly items: readonly BlobItem[];
  readonly next?: string;
}

/**
 * Reads a customer's Azure Blob container (or, without a container, the account: a path's first
 * segment is then a container) as a {@link SourceReader}, confined to the source's root.
 *
 * Every path is checked before it becomes a URL: `.`, `..`, empty segments, backslashes and
 * control characters are refused with SOURCE_PATH_NOT_FOUND, and each segment is percent-encoded
 * once more, so no path names a blob outside the root. Names the service lists are checked the
 * same way (and against the listed prefix), and skipped when they could not be read back.
 *
 * The endpoint's host goes through `guard.check` before the first request; redirects are not
 * followed; directory markers (ADLS `hdi_isfolder`, names ending in `/`) are not files.
 *
 * @throws ADDRESS_NOT_ALLOWED, SOURCE_UNREACHABLE, SOURCE_AUTH_FAILED, SOURCE_PATH_NOT_FOUND,
 *   SOURCE_FILE_CHANGED (SourceErrors, from each operation; never naming the credential).
 */
export function createAzureBlobReader(source: AzureBlobSource, options: AzureBlobReaderOptions): SourceReader {
  const requestTimeoutMs = options.requestTimeoutMs ?? BLOB_REQUEST_TIMEOUT_MS;
  const readIdleTimeoutMs = options.readIdleTimeoutMs ?? BLOB_READ_IDLE_TIMEOUT_MS;
  const secrets = secretsOf(source.credential);
  const root = [
    ...(source.container === undefined ? [] : [source.container]),
    ...(source.folderPath === '' ? [] : source.folderPath.split('/')),
  ];
  const sasSuffix = source.credential.kind === 'sas' ? `?${source.credential.query}` : '';

  const context = (container?: string): FailureContext => ({
    where: describeAzureBlobSource(source, container ?? source.container),
    secrets,
    timeoutMs: requestTimeoutMs,
  });
  const fail = (err: unknown, container?: string): SourceError => toSourceError(err, context(container));
  const notFound = (container?: string) =>
    new SourceError(
      'SOURCE_PATH_NOT_FOUND',
      `The path does not exist in ${describeAzureBlobSource(source, container ?? source.container)}`,
    );

  // storage-blob shares one core pipeline between a client and those made from it
  // (getBlobClient), and adds `additionalPolicies` to it each time a client is made: a second
  // client would add them twice and fail with "Duplicate policy names". So each client here is
  // made directly, on a pipeline of its own.
  const pipeline = (): Pipeline => {
    const credential =
      source.credential.kind === 'sharedKey'
        ? new StorageSharedKeyCredential(source.credential.accountName, source.credential.accountKey)
        : new AnonymousCredential();
    const policies = options.pipelinePolicies ?? [];
    const pipelineOptions: StoragePipelineOptions & PassedThroughOptions = {
      retryOptions: RETRY_OPTIONS,
      // Storage never redirects; following one would take the request, signed, somewhere else.
      redirectOptions: { maxRetries: 0 },
      ...(policies.length === 0
        ? {}
        : { additionalPolicies: policies.map((policy) => ({ policy, position: 'perRetry' as const })) }),
    };
    return newPipeline(credential, pipelineOptions);
  };
  const serviceClient = () => new BlobServiceClient(`${source.endpoint}${sasSuffix}`, pipeline());
  const containerClient = (container: string) =>
    new ContainerClient(`${source.endpoint}/${container}${sasSuffix}`, pipeline());
  const blobClient = (container: string, name: string) =>
    new BlobClient(
      `${source.endpoint}/${container}/${name.split('/').map(encodeURIComponent).join('/')}${sasSuffix}`,
      pipeline(),
    );

  let allowed: Promise<void> | undefined;
  /** The guard's verdict on the endpoint's host, asked once (again after a failure). */
  const ensureAllowed = (): Promise<void> => {
    allowed ??= options.guard.check(source.host).then(
      () => undefined,
      (err: unknown) => {
        allowed = undefined;
        throw fail(err);
      },
    );
    return allowed;
  };

  /** The account-space segments of a path relative to the root. @throws SOURCE_PATH_NOT_FOUND */
  const resolve = (path: string): { readonly relative: readonly string[]; readonly full: readonly string[] } => {
    const relative = relativeSegments(path);
    if (relative === undefined) throw notFound();
    const full = [...root, ...relative];
    // At the account root the first segment is a container: one named against Azure's rules
    // names nothing, and neither does a blob name over Azure's 1,024 characters.
    if (full[0] !== undefined && !isAzureContainerName(full[0])) throw notFound();
    if (full.slice(1).join('/').length > MAX_BLOB_NAME_LENGTH) throw notFound();
    return { relative, full };
  };
  const locationOf = (full: readonly string[]): Location | undefined => {
    const [container, ...folders] = full;
    return container === undefined ? undefined : { container, prefix: folders.map((s) => `${s}/`).join('') };
  };
  /** The root-relative path of a listed name, or `undefined` when it lies outside `prefix` or could not be read back. */
  const relativeOf = (location: Location, name: string): string | undefined => {
    if (!name.startsWith(location.prefix) || name.length === location.prefix.length) return undefined;
    const segments = relativeSegments(name);
    if (segments === undefined || name.startsWith('/') || name.endsWith('/')) return undefined;
    return [location.container, ...segments].slice(root.length).join('/');
  };

  const blobPage = async (
    location: Location,
    listing: { hierarchy: boolean; size: number; start?: string | undefined },
  ): Promise<BlobPage> => {
    const client = containerClient(location.container);
    const listOptions = {
      prefix: location.prefix,
      includeMetadata: true,
      abortSignal: AbortSignal.timeout(requestTimeoutMs),
    };
    const pageOptions = {
      maxPageSize: listing.size,
      ...(listing.start === undefined ? {} : { continuationToken: listing.start }),
    };
    try {
      if (listing.hierarchy) {
        const page = await client.listBlobsByHierarchy('/', listOptions).byPage(pageOptions).next();
        if (page.done === true) return { prefixes: [], items: [] };
        const { segment, continuationToken } = page.value;
        return {
          prefixes: (segment.blobPrefixes ?? []).map((p) => p.name),
          items: segment.blobItems,
          ...nextOf(continuationToken),
        };
      }
      const page = await client.listBlobsFlat(listOptions).byPage(pageOptions).next();
      if (page.done === true) return { prefixes: [], items: [] };
      return { prefixes: [], items: page.value.segment.blobItems, ...nextOf(page.value.continuationToken) };
    } catch (err) {
      throw fail(err, location.container);
    }
  };

  const containerPage = async (
    size: number,
    start: string | undefined,
  ): Promise<{ readonly names: readonly string[]; readonly next?: string }> => {
    try {
      const pages = serviceClient()
        .listContainers({ abortSignal: AbortSignal.timeout(requestTimeoutMs) })
        .byPage({ maxPageSize: size, ...(start === undefined ? {} : { continuationToken: start }) });
      const page = await pages.next();
      if (page.done === true) return { names: [] };
      return { names: (page.value.containerItems ?? []).map((c) => c.name), ...nextOf(page.value.continuationToken) };
    } catch (err) {
      throw fail(err);
    }
  };

  /**
   * A folder with nothing under it exists only as an ADLS directory marker (`hdi_isfolder`).
   * @throws SOURCE_PATH_NOT_FOUND when there is none.
   */
  const ensureFolderMarker = async (location: Location): Promise<void> => {
    try {
      const properties = await blobClient(location.container, location.prefix.slice(0, -1)).getProperties({
        abortSignal: AbortSignal.timeout(requestTimeoutMs),
      });
      if (isFolderMetadata(properties.metadata)) return;
    } catch (err) {
      if (!isNotFound(err)) throw fail(err, location.container);
    }
    throw notFound(location.container);
  };

  const fileOf = (
    path: string,
    container: string,
    properties: { contentLength?: number | undefined; lastModified?: Date | undefined; etag?: string | undefined },
  ): SourceFile => {
    const { contentLength, lastModified, etag } = properties;
    if (contentLength === undefined || lastModified === undefined || etag === undefined)
      throw new SourceError(
        'SOURCE_UNREACHABLE',
        `${describeAzureBlobSource(source, container)} answered without a blob's size, time or ETag`,
      );
    return {
      type: 'file',
      path,
      name: path.slice(path.lastIndexOf('/') + 1),
      size: contentLength,
      lastModified: lastModified.getTime(),
      version: unquote(etag),
    };
  };
  const fileOfItem = (location: Location, item: BlobItem): SourceFile | undefined => {
    if (isDirectoryMarker(item)) return undefined;
    const path = relativeOf(location, item.name);
    return path === undefined ? undefined : fileOf(path, location.container, item.properties);
  };

  async function* walkIn(
    location: Location,
    recursive: boolean,
    depthBase: number,
    mustExist: boolean,
  ): AsyncGenerator<SourceFile> {
    let start: string | undefined;
    let first = true;
    do {
      const page = await blobPage(location, { hierarchy: !recursive, size: BLOB_WALK_PAGE_SIZE, start });
      if (first && mustExist && page.items.length === 0 && page.prefixes.length === 0 && page.next === undefined)
        await ensureFolderMarker(location);
      first = false;
      for (const item of page.items) {
        const file = fileOfItem(location, item);
        // Folders below the walk's folder: segments of the path past it, less the file's own.
        if (file !== undefined && file.path.split('/').length - depthBase - 1 <= MAX_WALK_DEPTH) yield file;
      }
      start = page.next;
    } while (start !== undefined);
  }

  return {
    async listFolder(folder, page): Promise<SourcePage> {
      const { relative, full } = resolve(folder);
      const limit = Number.isFinite(page.limit) ? Math.min(BLOB_MAX_PAGE_SIZE, Math.max(1, Math.floor(page.limit))) : 1;
      await ensureAllowed();
      const location = locationOf(full);
      if (location === undefined) {
        const containers = await containerPage(limit, page.start);
        const entries = containers.names.map((name): SourceEntry => ({ type: 'folder', path: name, name }));
        return { entries, ...nextOf(containers.next) };
      }
      const listed = await blobPage(location, { hierarchy: true, size: limit, start: page.start });
      const empty = listed.items.length === 0 && listed.prefixes.length === 0 && listed.next === undefined;
      if (empty && page.start === undefined && relative.length > 0 && location.prefix !== '')
        await ensureFolderMarker(location);
      const entries: SourceEntry[] = [];
      for (const prefix of listed.prefixes) {
        const path = relativeOf(location, prefix.replace(/\/$/, ''));
        if (path !== undefined) entries.push({ type: 'folder', path, name: path.slice(path.lastIndexOf('/') + 1) });
      }
      for (const item of listed.items) {
        const file = fileOfItem(location, item);
        if (file !== undefined) entries.push(file);
      }
      return { entries, ...nextOf(listed.next) };
    },

    async *walk(folder, walkOptions): AsyncGenerator<SourceFile> {
      const { relative, full } = resolve(folder);
      await ensureAllowed();
      const location = locationOf(full);
      const depthBase = relative.length;
      if (location !== undefined) {
        yield* walkIn(location, walkOptions.recursive, depthBase, relative.length > 0 && location.prefix !== '');
        return;
      }
      // The account root holds containers only: files are found below it, walking recursively.
      if (!walkOptions.recursive) return;
      let start: string | undefined;
      do {
        const containers = await containerPage(BLOB_WALK_PAGE_SIZE, start);
        for (const container of containers.names) yield* walkIn({ container, prefix: '' }, true, depthBase, false);
        start = containers.next;
      } while (start !== undefined);
    },

    async stat(path): Promise<SourceFile | undefined> {
      const { full } = resolve(path);
      const location = locationOf(full);
      // The root and a container (at the account root) are folders.
      if (location === undefined || location.prefix === '') return undefined;
      await ensureAllowed();
      try {
        const properties = await blobClient(location.container, location.prefix.slice(0, -1)).getProperties({
          abortSignal: AbortSignal.timeout(requestTimeoutMs),
        });
        if (isFolderMetadata(properties.metadata)) return undefined;
        return fileOf(full.slice(root.length).join('/'), location.container, properties);
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw fail(err, location.container);
      }
    },

    async open(file): Promise<Readable> {
      const { full } = resolve(file.path);
      const location = locationOf(full);
      if (location === undefined || location.prefix === '') throw notFound();
      if (!VERSION.test(file.version))
        throw new SourceError(
          'SOURCE_FILE_CHANGED',
          `Not a version of this blob (${describeAzureBlobSource(source, location.container)})`,
        );
      await ensureAllowed();
      // One signal for the whole download: it ends a request that waits too long for its answer,
      // a body that goes idle, and resumed requests (the SDK's retries mid-stream) alike.
      const abort = new AbortController();
      const waiting = setTimeout(() => abort.abort(), requestTimeoutMs);
      let body: Readable;
      try {
        const response = await blobClient(location.container, location.prefix.slice(0, -1)).download(0, undefined, {
          // If-Match: this version or nothing; the SDK's resumed requests keep the same condition.
          conditions: { ifMatch: `"${file.version}"` },
          maxRetryRequests: BLOB_DOWNLOAD_RETRIES,
          abortSignal: abort.signal,
        });
        if (!(response.readableStreamBody instanceof Readable))
          throw new SourceError(
            'SOURCE_UNREACHABLE',
            `${describeAzureBlobSource(source, location.container)} answered a download without a body`,
          );
        body = response.readableStreamBody;
        if (response.contentLength !== file.size) {
          body.destroy();
          throw new SourceError(
            'SOURCE_FILE_CHANGED',
            `The blob's size changed since it was listed (${describeAzureBlobSource(source, location.container)})`,
          );
        }
      } catch (err) {
        throw fail(err, location.container);
      } finally {
        clearTimeout(waiting);
      }
      const where = describeAzureBlobSource(source, location.container);
      return Readable.from(
        readExactly(body, {
          size: file.size,
          idleMs: readIdleTimeoutMs,
          abort,
          stalled: () =>
            new SourceError(
              'SOURCE_UNREACHABLE',
              `${where} sent nothing for ${Math.round(readIdleTimeoutMs / 1000)} s`,
            ),
          fail: (err) => fail(err, location.container),
        }),
        { objectMode: false },
      );
    },

    close(): Promise<void> {
      return Promise.resolve();
    },
  };
}

/**
 * The bytes of a download, failing (as a SourceError) when the body stops for `idleMs`, breaks
 * beyond the SDK's retries, or is not exactly `size` bytes long. Stopping early (the consumer
 * destroys the stream) ends the request.
 */
async function* readExactly(
  body: Readable,
  options: {
    readonly size: number;
    readonly idleMs: number;
    readonly abort: AbortController;
    readonly stalled: () => SourceError;
    readonly fail: (err: unknown) => SourceError;
  },
): AsyncGenerator<Buffer> {
  const chunks: AsyncIterator<unknown> = body[Symbol.asyncIterator]();
  let received = 0;
  let finished = false;
  let idle: NodeJS.Timeout | undefined;
  try {
    for (;;) {
      // Only waiting for the service counts as idle, not a consumer that applies back pressure.
      // The abort ends a resumed request in flight; destroying the body ends the wait here.
      idle = setTimeout(() => {
        options.abort.abort();
        body.destroy(options.stalled());
      }, options.idleMs);
      const step = await chunks.next();
      clearTimeout(idle);
      if (step.done === true) break;
      const chunk = Buffer.isBuffer(step.value) ? step.value : Buffer.from(String(step.value));
      received += chunk.length;
      if (received > options.size) throw new SourceError('SOURCE_FILE_CHANGED', 'The blob grew while it was read');
      yield chunk;
    }
    if (received !== options.size) throw new SourceError('SOURCE_FILE_CHANGED', 'The blob shrank while it was read');
    finished = true;
  } catch (err) {
    throw options.fail(err);
  } finally {
    clearTimeout(idle);
    if (!finished) {
      options.abort.abort();
      body.destroy();
    }
  }
}

function nextOf(token: string | undefined): { readonly next?: string } {
  return token === undefined || token === '' ? {} : { next: token };
}

function unquote(etag: string): string {
  return etag.replace(/^"(.*)"$/, '$1');
}

function isFolderMetadata(metadata: Readonly<Record<string, string>> | undefined): boolean {
  if (metadata === undefined) return false;
  return Object.entries(metadata).some(
    ([key, value]) => key.toLowerCase() === HNS_FOLDER_METADATA && value.toLowerCase() === 'true',
  );
}

/** A blob that stands for a folder: a name ending in `/`, or an ADLS directory (`hdi_isfolder`). */
function isDirectoryMarker(item: BlobItem): boolean {
  return item.name.endsWith('/') || isFolderMetadata(item.metadata);
}
