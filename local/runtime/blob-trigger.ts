import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BlobServiceClient,
  type BlobItem,
  type BlockBlobClient,
  type ContainerClient,
} from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import type { Registration } from './core-api.js';
import type { RpcBindingInfo, RpcTypedData } from './core-types.js';
import type { ListenerContext, TriggerListener } from './host.js';
import { triggerOf } from './http-host.js';
import { invoke } from './invoke.js';
import { storageConnectionString, type Settings } from './settings.js';

/** The host's container for receipts, locks and timer status (`HostContainerNames.Hosts`). */
export const HOSTS_CONTAINER = 'azure-webjobs-hosts';
/** The queue the host moves a blob to after `maxDequeueCount` failed attempts. */
export const BLOB_POISON_QUEUE = 'webjobs-blobtrigger-poison';

/** The host's receipt lease (BlobReceiptManager.LeasePeriod), renewed while the function runs. */
const RECEIPT_LEASE_SECONDS = 30;
const RECEIPT_RENEW_MS = 10_000;
/** The host's default `extensions.queues.maxDequeueCount`. */
const DEFAULT_MAX_DEQUEUE_COUNT = 5;
/** The host's default blob trigger concurrency per function (queues batchSize). */
const MAX_CONCURRENT_PER_FUNCTION = 16;
const DEFAULT_POLL_MS = 1_000;
const DEFAULT_RETRY_DELAY_MS = 3_000;

/** The receipt's metadata key the host uses; its presence marks the receipt incomplete. */
const INCOMPLETE = 'Incomplete';

/** A compiled blob trigger `path`: its literal container and a matcher for blob names. */
export interface BlobPathPattern {
  readonly container: string;
  /** Literal text before the first `{`: the listing prefix. */
  readonly prefix: string;
  /** The `{param}` values of a blob name, or undefined if it does not match. */
  match(blobName: string): Record<string, string> | undefined;
}

/**
 * Compiles a blob trigger path as the host's BlobPath/BindingTemplate does: `container/blob`,
 * where the blob part mixes literal text and `{name}` parameters (`landing/{name}`,
 * `in/prefix-{name}.csv`, `in/{name}.{ext}`). A parameter matches any text, slashes included.
 *
 * @throws Error when the path has no container or the container part has parameters.
 */
export function compileBlobPath(pattern: string): BlobPathPattern {
  const slash = pattern.indexOf('/');
  const container = slash === -1 ? pattern : pattern.slice(0, slash);
  const blob = slash === -1 ? '' : pattern.slice(slash + 1);
  if (container === '' || container.includes('{')) {
    throw new Error(`Blob trigger path "${pattern}" must start with a literal container name.`);
  }
  const names: string[] = [];
  let source = '';
  let rest = blob;
  for (;;) {
    const open = rest.indexOf('{');
    if (open === -1) {
      source += escapeRegExp(rest);
      break;
    }
    const close = rest.indexOf('}', open);
    if (close === -1) throw new Error(`Blob trigger path "${pattern}" has an unclosed "{".`);
    source += escapeRegExp(rest.slice(0, open));
    const name = rest.slice(open + 1, close).replace(/^\*/, '');
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new Error(`Blob trigger path "${pattern}" has an invalid parameter "{${name}}".`);
    }
    names.push(name);
    source += '(.+)';
    rest = rest.slice(close + 1);
  }
  const openAt = blob.indexOf('{');
  const prefix = openAt === -1 ? blob : blob.slice(0, openAt);
  // No parameters and no text: the container itself, so every blob in it.
  const regex = blob === '' ? /^.+$/s : new RegExp(`^${source}$`, 's');
  return {
    container,
    prefix,
    match(blobName) {
      const m = regex.exec(blobName);
      if (m === null) return undefined;
      const params: Record<string, string> = {};
      names.forEach((name, i) => {
        const value = m[i + 1];
        if (value !== undefined) params[name] = value;
      });
      return params;
    },
  };
}

/**
 * The host's poison message for a blob (BlobTriggerMessage, serialized with Newtonsoft): the
 * track-1 `BlockBlob` spelling of the blob type is kept for compatibility, as the host does.
 */
export function blobTriggerMessage(functionId: string, blobType: string, container: string, blobName: string, etag: string): string {
  return JSON.stringify({
    Type: 'BlobTrigger',
    FunctionId: functionId,
    BlobType: `${blobType.replace(/Blob$/, '')}Blob`,
    ContainerName: container,
    BlobName: blobName,
    ETag: etag,
  });
}

/**
 * Runs the app's blob triggers against storage by scanning containers (Azurite has no Event
 * Grid), with the host's exactly-once machinery: a receipt blob per function and blob version
 * under `azure-webjobs-hosts/blobreceipts/`, leased while the function runs, so restarts and other
 * runtime instances on the same storage never process a version twice. Failures are retried and,
 * after `maxDequeueCount` attempts (kept in the receipt, so it survives restarts), reported on
 * `webjobs-blobtrigger-poison` as the host does.
 */
export async function startBlobTriggers(ctx: ListenerContext): Promise<TriggerListener> {
  const pollMs = positiveInt(ctx.settings.CIPHERFLOW_BLOB_POLL_MS, DEFAULT_POLL_MS);
  const retryDelayMs = nonNegativeInt(ctx.settings.CIPHERFLOW_BLOB_RETRY_DELAY_MS, DEFAULT_RETRY_DELAY_MS);
  const maxDequeueCount = await readMaxDequeueCount(ctx.settings);
  const watchers: BlobWatcher[] = [];
  for (const registration of ctx.core.registrations.values()) {
    const [triggerName, binding] = triggerOf(registration);
    if (binding.type?.toLowerCase() !== 'blobtrigger') continue;
    watchers.push(new BlobWatcher(ctx, registration, triggerName, binding, { pollMs, retryDelayMs, maxDequeueCount }));
  }
  for (const watcher of watchers) await watcher.start();
  return {
    async close() {
      await Promise.all(watchers.map((w) => w.close()));
    },
  };
}

interface WatcherOptions {
  readonly pollMs: number;
  readonly retryDelayMs: number;
  readonly maxDequeueCount: number;
}

interface ReceiptState {
  readonly incomplete: boolean;
  readonly dequeueCount: number;
  readonly nextAttempt: number;
}

class BlobWatcher {
  readonly #ctx: ListenerContext;
  readonly #registration: Registration;
  readonly #triggerName: string;
  readonly #functionName: string;
  /** The host's FunctionDescriptor.Id for a worker function. */
  readonly #functionId: string;
  readonly #connection: string;
  readonly #pattern: BlobPathPattern;
  readonly #deferred: boolean;
  readonly #options: WatcherOptions;
  readonly #blobs: BlobServiceClient;
  readonly #container: ContainerClient;
  readonly #hosts: ContainerClient;
  readonly #queues: QueueServiceClient;
  /** `etag|name` of versions whose receipt is complete: not looked at again. */
  #done = new Set<string>();
  readonly #inFlight = new Map<string, Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #closed = false;

  constructor(ctx: ListenerContext, registration: Registration, triggerName: string, binding: RpcBindingInfo, options: WatcherOptions) {
    this.#ctx = ctx;
    this.#registration = registration;
    this.#triggerName = triggerName;
    this.#functionName = registration.metadata.name;
    this.#functionId = `Host.Functions.${registration.metadata.name}`;
    this.#options = options;
    const rawPath = typeof binding.path === 'string' ? binding.path : '';
    this.#pattern = compileBlobPath(resolveSettingTokens(rawPath, ctx.settings));
    this.#connection = typeof binding.connection === 'string' ? binding.connection : '';
    this.#deferred = binding.properties?.supportsDeferredBinding === 'true';
    this.#blobs = BlobServiceClient.fromConnectionString(storageConnectionString(ctx.settings, this.#connection));
    this.#container = this.#blobs.getContainerClient(this.#pattern.container);
    // Receipts live in the host's own storage account, the blob may live in another.
    const hostStorage = storageConnectionString(ctx.settings, 'AzureWebJobsStorage');
    this.#hosts = BlobServiceClient.fromConnectionString(hostStorage).getContainerClient(HOSTS_CONTAINER);
    this.#queues = QueueServiceClient.fromConnectionString(storageConnectionString(ctx.settings, this.#connection));
  }

  async start(): Promise<void> {
    await this.#hosts.createIfNotExists();
    this.#ctx.logger.write(
      'information',
      'system',
      `Blob trigger '${this.#functionName}' watching ${this.#pattern.container}/${this.#pattern.prefix}* (container scan every ${this.#options.pollMs} ms).`,
    );
    this.#schedule(0);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#polling;
    await Promise.all(this.#inFlight.values());
  }

  #schedule(delay: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#polling = this.#poll()
        .catch((err: unknown) => {
          this.#ctx.logger.write('warning', 'system', `Blob trigger '${this.#functionName}' scan failed: ${messageOf(err)}`);
        })
        .finally(() => {
          this.#polling = undefined;
          this.#schedule(this.#options.pollMs);
        });
    }, delay);
  }

  async #poll(): Promise<void> {
    const seen = new Set<string>();
    let items: AsyncIterable<BlobItem>;
    try {
      items = this.#container.listBlobsFlat({ prefix: this.#pattern.prefix });
      for await (const item of items) {
        if (this.#closed) return;
        if (item.properties.etag === undefined) continue;
        // Listings carry the ETag bare; the host uses the quoted header form (ETag.ToString()).
        const etag = quoteEtag(item.properties.etag);
        const params = this.#pattern.match(item.name);
        if (params === undefined) continue;
        const key = `${etag}|${item.name}`;
        seen.add(key);
        if (this.#done.has(key) || this.#inFlight.has(key)) continue;
        if (this.#inFlight.size >= MAX_CONCURRENT_PER_FUNCTION) continue;
        const work = this.#consider(item, etag, params)
          .catch((err: unknown) => {
            this.#ctx.logger.write('warning', 'system', `Blob trigger '${this.#functionName}' could not process ${this.#pattern.container}/${item.name}: ${messageOf(err)}`);
          })
          .finally(() => this.#inFlight.delete(key));
        this.#inFlight.set(key, work);
      }
    } catch (err) {
      // A container that does not exist yet simply has no blobs to trigger on.
      if (statusOf(err) === 404) return;
      throw err;
    }
    // Forget versions that are gone, so the cache stays the size of the container.
    this.#done = new Set([...this.#done].filter((key) => seen.has(key)));
  }

  /** One blob version: the host's BlobTriggerExecutor receipt protocol, then the invocation. */
  async #consider(item: BlobItem, etag: string, params: Record<string, string>): Promise<void> {
    const key = `${etag}|${item.name}`;
    const receipt = this.#hosts.getBlockBlobClient(
      // The ETag goes before the blob name, as in the host, since blob names contain slashes.
      `blobreceipts/${this.#ctx.hostId}/${this.#functionId}/${etag}/${this.#pattern.container}/${item.name}`,
    );
    const unleased = await readReceipt(receipt);
    if (unleased !== undefined && !unleased.incomplete) {
      this.#done.add(key);
      return;
    }
    if (unleased === undefined && !(await createReceipt(receipt, etag))) return;
    if (unleased !== undefined && unleased.nextAttempt > Date.now()) return;

    const lease = receipt.getBlobLeaseClient();
    try {
      await lease.acquireLease(RECEIPT_LEASE_SECONDS);
    } catch (err) {
      // Another instance holds it (409) or it was just deleted (404): try again on a later scan.
      if (statusOf(err) === 409 || statusOf(err) === 404) return;
      throw err;
    }
    const leaseId = lease.leaseId;
    const renew = setInterval(() => {
      lease.renewLease().catch((err: unknown) => {
        this.#ctx.logger.write('warning', 'system', `Blob trigger '${this.#functionName}': receipt lease renewal failed: ${messageOf(err)}`);
      });
    }, RECEIPT_RENEW_MS);
    try {
      const state = await readReceipt(receipt);
      if (state === undefined || !state.incomplete) {
        this.#done.add(key);
        return;
      }
      if (state.nextAttempt > Date.now()) return;
      const invocationId = randomUUID();
      const attempt = state.dequeueCount + 1;
      if (state.dequeueCount >= this.#options.maxDequeueCount) {
        // Attempts already used up (the runtime stopped right after the last one).
        await this.#poison(receipt, leaseId, item, etag, state.dequeueCount, invocationId);
        this.#done.add(key);
        return;
      }
      // Counted before the invocation, as a queue message's DequeueCount is: a crash still counts.
      await setReceipt(receipt, leaseId, {
        [INCOMPLETE]: INCOMPLETE,
        ETag: etag,
        InvocationId: invocationId,
        State: 'Processing',
        DequeueCount: String(attempt),
      });
      const outcome = await this.#invoke(item, etag, params, invocationId, attempt);
      if (outcome === 'gone') {
        await setReceipt(receipt, leaseId, { ETag: etag, InvocationId: invocationId, State: 'Superseded', DequeueCount: String(attempt) });
        this.#done.add(key);
      } else if (outcome === 'succeeded') {
        await setReceipt(receipt, leaseId, { ETag: etag, InvocationId: invocationId, State: 'Succeeded', DequeueCount: String(attempt) });
        this.#done.add(key);
      } else if (attempt >= this.#options.maxDequeueCount) {
        await this.#poison(receipt, leaseId, item, etag, attempt, invocationId);
        this.#done.add(key);
      } else {
        await setReceipt(receipt, leaseId, {
          [INCOMPLETE]: INCOMPLETE,
          ETag: etag,
          InvocationId: invocationId,
          State: 'Failed',
          DequeueCount: String(attempt),
          NextAttempt: new Date(Date.now() + retryDelay(this.#options.retryDelayMs, attempt)).toISOString(),
        });
      }
    } finally {
      clearInterval(renew);
      await lease.releaseLease().catch(() => undefined);
    }
  }

  async #invoke(
    item: BlobItem,
    etag: string,
    params: Record<string, string>,
    invocationId: string,
    attempt: number,
  ): Promise<'succeeded' | 'failed' | 'gone'> {
    const blob = this.#container.getBlobClient(item.name);
    let data: RpcTypedData;
    let properties: Awaited<ReturnType<typeof blob.getProperties>>;
    try {
      properties = await blob.getProperties({ conditions: { ifMatch: etag } });
      if (this.#deferred) {
        data = {
          modelBindingData: {
            version: '1.0',
            source: 'AzureStorageBlobs',
            contentType: 'application/json',
            content: Buffer.from(
              JSON.stringify({ Connection: this.#connection, ContainerName: this.#pattern.container, BlobName: item.name }),
            ),
          },
        };
      } else {
        // The host hands a blob trigger's content to the worker as bytes, whole.
        data = { bytes: await download(blob, etag) };
      }
    } catch (err) {
      // Replaced (412) or deleted (404) since the scan: that version no longer exists to process;
      // a replacement has its own ETag and receipt.
      if (statusOf(err) === 412 || statusOf(err) === 404) return 'gone';
      throw err;
    }
    const triggerMetadata: Record<string, RpcTypedData> = {
      BlobTrigger: { string: `${this.#pattern.container}/${item.name}` },
      Uri: { json: JSON.stringify(blob.url) },
      Properties: { json: JSON.stringify(dotnetBlobProperties(properties, etag)) },
      Metadata: { json: JSON.stringify(properties.metadata ?? {}) },
      sys: {
        json: JSON.stringify({ MethodName: this.#functionName, UtcNow: new Date().toISOString(), RandGuid: randomUUID() }),
      },
    };
    for (const [name, value] of Object.entries(params)) triggerMetadata[name] = { string: value };
    try {
      await invoke(
        this.#ctx.core,
        this.#registration,
        {
          invocationId,
          inputData: [{ name: this.#triggerName, data }],
          triggerMetadata,
          retryContext: { retryCount: attempt - 1, maxRetryCount: this.#options.maxDequeueCount - 1 },
        },
        this.#ctx.logger,
      );
      return 'succeeded';
    } catch {
      // invoke() has logged the failure with the invocation id.
      return 'failed';
    }
  }

  async #poison(receipt: BlockBlobClient, leaseId: string, item: BlobItem, etag: string, attempts: number, invocationId: string): Promise<void> {
    const message = blobTriggerMessage(this.#functionId, item.properties.blobType ?? 'BlockBlob', this.#pattern.container, item.name, etag);
    const queue = this.#queues.getQueueClient(BLOB_POISON_QUEUE);
    await queue.createIfNotExists();
    // The host's blob queues use base64 message encoding (QueueServiceClientProvider).
    await queue.sendMessage(Buffer.from(message, 'utf8').toString('base64'));
    await setReceipt(receipt, leaseId, { ETag: etag, InvocationId: invocationId, State: 'Poisoned', DequeueCount: String(attempts) });
    this.#ctx.logger.write(
      'error',
      'system',
      `Function '${this.#functionName}' failed ${attempts} times for blob ${this.#pattern.container}/${item.name} (ETag ${etag}): moved to queue '${BLOB_POISON_QUEUE}'.`,
    );
    this.#ctx.logger.event('blob-poisoned', {
      functionName: this.#functionName,
      container: this.#pattern.container,
      blobName: item.name,
      etag,
      attempts,
      queue: BLOB_POISON_QUEUE,
    });
  }
}

/** Longest wait between two attempts at one blob version. */
const MAX_RETRY_DELAY_MS = 5 * 60_000;

/**
 * The wait before attempt `failed + 1`: exponential in the attempts made (`base`, 2×, 4×, …, capped)
 * with jitter (a random 50-100 % of it), so a dependency outage (Key Vault, storage) is spread over
 * a longer window than five fixed retries and many blobs that failed together do not retry in
 * lockstep when it returns.
 */
export function retryDelay(baseMs: number, failed: number, random: () => number = Math.random): number {
  const exponential = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.max(0, failed - 1));
  return Math.round(exponential * (0.5 + 0.5 * random()));
}

async function readReceipt(receipt: BlockBlobClient): Promise<ReceiptState | undefined> {
  try {
    const props = await receipt.getProperties();
    const metadata = lowerKeys(props.metadata ?? {});
    const next = metadata.nextattempt === undefined ? 0 : Date.parse(metadata.nextattempt);
    return {
      incomplete: metadata[INCOMPLETE.toLowerCase()] !== undefined,
      dequeueCount: Number(metadata.dequeuecount ?? '0') || 0,
      nextAttempt: Number.isNaN(next) ? 0 : next,
    };
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

/** Creates the incomplete receipt if none exists; false if another instance created it first. */
async function createReceipt(receipt: BlockBlobClient, etag: string): Promise<boolean> {
  try {
    await receipt.upload('', 0, {
      metadata: { [INCOMPLETE]: INCOMPLETE, ETag: etag, State: 'Pending', DequeueCount: '0' },
      conditions: { ifNoneMatch: '*' },
    });
    return true;
  } catch (err) {
    // 409 BlobAlreadyExists, or 412 when it exists and is leased.
    if (statusOf(err) === 409 || statusOf(err) === 412) return false;
    throw err;
  }
}

async function setReceipt(receipt: BlockBlobClient, leaseId: string, metadata: Record<string, string>): Promise<void> {
  await receipt.setMetadata(metadata, { conditions: { leaseId } });
}

async function download(blob: ReturnType<ContainerClient['getBlobClient']>, etag: string): Promise<Buffer> {
  const response = await blob.download(0, undefined, { conditions: { ifMatch: etag } });
  const body = response.readableStreamBody;
  if (body === undefined) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}

/** The blob's properties under the names the host's BlobProperties serializes with. */
function dotnetBlobProperties(
  p: { lastModified?: Date; createdOn?: Date; contentLength?: number; contentType?: string; contentEncoding?: string;
    contentLanguage?: string; contentMD5?: Uint8Array; contentDisposition?: string; cacheControl?: string;
    blobType?: string; leaseState?: string; leaseStatus?: string; leaseDuration?: string; accessTier?: string;
    isServerEncrypted?: boolean },
  etag: string,
): Record<string, unknown> {
  return {
    LastModified: p.lastModified?.toISOString(),
    CreatedOn: p.createdOn?.toISOString(),
    ContentLength: p.contentLength,
    ContentType: p.contentType,
    ContentEncoding: p.contentEncoding,
    ContentLanguage: p.contentLanguage,
    ContentHash: p.contentMD5 === undefined ? undefined : Buffer.from(p.contentMD5).toString('base64'),
    ContentDisposition: p.contentDisposition,
    CacheControl: p.cacheControl,
    BlobType: (p.blobType ?? 'BlockBlob').replace(/Blob$/, ''),
    LeaseState: p.leaseState,
    LeaseStatus: p.leaseStatus,
    LeaseDuration: p.leaseDuration,
    AccessTier: p.accessTier,
    IsServerEncrypted: p.isServerEncrypted,
    ETag: etag,
  };
}

/** `%Setting%` tokens in a binding property, resolved from app settings as the host does. */
export function resolveSettingTokens(value: string, settings: Settings): string {
  return value.replace(/%([^%]+)%/g, (_, name: string) => {
    const resolved = settings[name];
    if (resolved === undefined) throw new Error(`App setting "${name}" (referenced as %${name}%) is not set.`);
    return resolved;
  });
}

/** `extensions.queues.maxDequeueCount` from the app's host.json, which also governs blob triggers. */
async function readMaxDequeueCount(settings: Settings): Promise<number> {
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const appRoot = path.resolve(settings.CIPHERFLOW_APP_ROOT ?? repoRoot);
  try {
    const hostJson = JSON.parse(await readFile(path.join(appRoot, 'host.json'), 'utf8')) as {
      extensions?: { queues?: { maxDequeueCount?: unknown } };
    };
    const value = hostJson.extensions?.queues?.maxDequeueCount;
    return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : DEFAULT_MAX_DEQUEUE_COUNT;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return DEFAULT_MAX_DEQUEUE_COUNT;
    throw err;
  }
}

function quoteEtag(etag: string): string {
  return etag.startsWith('"') ? etag : `"${etag}"`;
}

function lowerKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k.toLowerCase(), v]));
}

function statusOf(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'statusCode' in err && typeof err.statusCode === 'number') {
    return err.statusCode;
  }
  return undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function positiveInt(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && Number.isInteger(n) && n > 0 ? n : fallback;
}

function nonNegativeInt(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && value !== '' && Number.isInteger(n) && n >= 0 ? n : fallback;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
