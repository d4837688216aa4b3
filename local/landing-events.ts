/**
 * A local Event Grid for the landing storage account.
 *
 * In Azure, the landing account's Event Grid system topic sends `Microsoft.Storage.BlobCreated`
 * (Event Grid schema) into a storage queue of the internal account, and a queue-triggered function
 * ingests each file. Azurite has no Event Grid, so locally the landing account's blob endpoint is
 * this reverse proxy in front of Azurite: it streams every request through unchanged and, when
 * Azurite reports that a blob was created or replaced, writes the event Azure would write to the
 * internal account's queue before the client sees the response.
 *
 * It serves the landing account only: a request that names any other account (the internal
 * `devstoreaccount1` above all) is refused here and never reaches Azurite.
 */
import { randomUUID } from 'node:crypto';
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { QueueClient } from '@azure/storage-queue';
import type { LocalAccount } from './azurite.js';

/** The internal account's queue the events go to (`LANDING_EVENTS_QUEUE`). */
export const LANDING_EVENTS_QUEUE = 'landing-events';
/** Containers whose events are published: the Azure subscription's subject filter `.../containers/dlz-`. */
export const DEFAULT_LANDING_CONTAINER_PREFIX = 'dlz-';
/** The subscription and resource group named in the local events' `topic` (nothing in Azure). */
export const LOCAL_SUBSCRIPTION_ID = '00000000-0000-0000-0000-000000000000';
export const LOCAL_RESOURCE_GROUP = 'cipherflow-local';

/**
 * The operations that raise BlobCreated. Azure documents PutBlob, PutBlockList and CopyBlob;
 * `PutBlobFromUrl` is our name for Put Blob From URL, which Azurite 3.35 answers with 501, so it
 * never fires locally.
 */
export type BlobCreatedApi = 'PutBlob' | 'PutBlockList' | 'CopyBlob' | 'PutBlobFromUrl';

/** `Microsoft.Storage.BlobCreated` in the Event Grid schema, as Event Grid writes it to a queue. */
export interface BlobCreatedEvent {
  /** `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{account}` */
  readonly topic: string;
  /** `/blobServices/default/containers/{container}/blobs/{blob}` */
  readonly subject: string;
  readonly eventType: 'Microsoft.Storage.BlobCreated';
  readonly id: string;
  readonly eventTime: string;
  readonly data: {
    readonly api: BlobCreatedApi;
    readonly clientRequestId: string;
    readonly requestId: string;
    /** The blob's ETag without the quotes of the HTTP header, as Azure's events carry it. */
    readonly eTag: string;
    readonly contentType: string;
    readonly contentLength: number;
    readonly blobType: string;
    readonly url: string;
    /** Opaque; compares as a string in the order of the writes to one blob. */
    readonly sequencer: string;
    readonly storageDiagnostics: { readonly batchId: string };
  };
  readonly dataVersion: string;
  readonly metadataVersion: '1';
}

/** Why the proxy refused a request (`x-ms-error-code` and the XML error's `Code`). */
export type LandingProxyRefusal =
  | 'LandingProxyAccountRefused'
  | 'LandingProxyCopySourceRefused'
  | 'LandingProxyBatchRefused'
  | 'LandingProxyHostRefused'
  | 'LandingProxyRequestRefused';

const REFUSAL_STATUS: Record<LandingProxyRefusal, number> = {
  LandingProxyAccountRefused: 403,
  LandingProxyCopySourceRefused: 403,
  LandingProxyBatchRefused: 400,
  LandingProxyHostRefused: 400,
  LandingProxyRequestRefused: 400,
};

export type LandingEventsLog = (event: string, fields: Record<string, unknown>) => void;

export interface LandingEventsOptions {
  /** The landing account straight on Azurite (`AzuriteInstance.landing`). */
  readonly upstream: LocalAccount;
  /** The internal account's queue the events go to (created if missing). */
  readonly queue: { readonly connectionString: string; readonly queueName: string };
  /** 0 picks a free port (tests); npm start uses 10010. */
  readonly port: number;
  readonly host?: string;
  /** Default {@link DEFAULT_LANDING_CONTAINER_PREFIX}. */
  readonly containerPrefix?: string;
  /** Refusals and failed publications; default: JSON lines on stderr. */
  readonly log?: LandingEventsLog;
}

export interface LandingEvents {
  /** The proxy's origin, `http://127.0.0.1:{port}`. */
  readonly url: string;
  /** The landing account's blob endpoint through the proxy, `{url}/devlandingstore1`. */
  readonly blobEndpoint: string;
  /** A connection string for the landing account through the proxy (the app's `LandingStorage`). */
  readonly connectionString: string;
  readonly queueName: string;
  close(): Promise<void>;
}

/** The app settings that point the app at the landing account and its events queue. */
export function landingAppSettings(events: LandingEvents): Record<string, string> {
  return { LandingStorage: events.connectionString, LANDING_EVENTS_QUEUE: events.queueName };
}

/** Starts the proxy and resolves once it listens (and the events queue exists). */
export async function startLandingEvents(options: LandingEventsOptions): Promise<LandingEvents> {
  const { upstream } = options;
  const prefix = options.containerPrefix ?? DEFAULT_LANDING_CONTAINER_PREFIX;
  const log =
    options.log ??
    ((event, fields) =>
      process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), event, ...fields })}\n`));
  const upstreamUrl = new URL(upstream.blobEndpoint);
  if (upstreamUrl.protocol !== 'http:' || upstreamUrl.pathname !== `/${upstream.accountName}`) {
    throw new Error(
      `LANDING_EVENTS_UPSTREAM: expected http://host:port/${upstream.accountName}, got ${upstream.blobEndpoint}`,
    );
  }
  const queue = new QueueClient(options.queue.connectionString, options.queue.queueName);
  await queue.createIfNotExists();
  // Get Blob Properties for contentLength/contentType/blobType: Event Grid is trusted, like the
  // storage service itself, so it reads with the account key, straight from Azurite.
  const blobs = new BlobServiceClient(
    upstream.blobEndpoint,
    new StorageSharedKeyCredential(upstream.accountName, upstream.accountKey),
  );
  const agent = new Agent({ keepAlive: true });
  const sequencer = createSequencer();
  let blobEndpoint = '';

  const publish = async (created: CreatedBlob, req: IncomingMessage, upstreamRes: IncomingMessage): Promise<void> => {
    const eTag = unquote(header(upstreamRes.headers, 'etag') ?? '');
    let contentLength: number | undefined;
    let contentType: string | undefined;
    let blobType: string | undefined;
    try {
      // Conditional on this write's ETag: the properties are those of the blob this request made.
      const props = await blobs
        .getContainerClient(created.container)
        .getBlobClient(created.blob)
        .getProperties({ conditions: { ifMatch: eTag } });
      ({ contentLength, contentType, blobType } = props);
    } catch (err) {
      // Replaced or deleted since (412/404): Event Grid would still report this write, so do
      // too, with what the request itself says.
      log('landing-event-properties-unavailable', { subject: subjectOf(created), error: errorText(err) });
      if (created.api === 'PutBlob') {
        contentLength = Number(header(req.headers, 'content-length') ?? 0);
        contentType = header(req.headers, 'x-ms-blob-content-type') ?? header(req.headers, 'content-type');
        blobType = header(req.headers, 'x-ms-blob-type');
      }
    }
    const event: BlobCreatedEvent = {
      topic: `/subscriptions/${LOCAL_SUBSCRIPTION_ID}/resourceGroups/${LOCAL_RESOURCE_GROUP}/providers/Microsoft.Storage/storageAccounts/${upstream.accountName}`,
      subject: subjectOf(created),
      eventType: 'Microsoft.Storage.BlobCreated',
      id: randomUUID(),
      eventTime: new Date().toISOString(),
      data: {
        api: created.api,
        clientRequestId: header(req.headers, 'x-ms-client-request-id') ?? '',
        requestId: header(upstreamRes.headers, 'x-ms-request-id') ?? '',
        eTag,
        contentType: contentType ?? 'application/octet-stream',
        contentLength: contentLength ?? 0,
        blobType: blobType ?? 'BlockBlob',
        url: `${blobEndpoint}/${encodeURIComponent(created.container)}/${created.blob.split('/').map(encodeURIComponent).join('/')}`,
        sequencer: sequencer(),
        storageDiagnostics: { batchId: randomUUID() },
      },
      dataVersion: '',
      metadataVersion: '1',
    };
    // Event Grid writes one event per message, its JSON in Base64, which is also what the
    // Functions queue trigger decodes by default (host.json extensions.queues.messageEncoding).
    await queue.sendMessage(Buffer.from(JSON.stringify(event), 'utf8').toString('base64'));
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const decision = classify(req, upstream.accountName);
    if ('refusal' in decision) {
      refuse(res, decision.refusal, decision.message);
      // Caller input: the code says why, the path (names, perhaps a SAS) stays out of the log.
      log('landing-proxy-refused', { code: decision.refusal, method: req.method });
      return;
    }
    const relay = async (upstreamRes: IncomingMessage): Promise<void> => {
      const created = decision.created;
      if (created !== undefined && created.container.startsWith(prefix) && succeeded(created.api, upstreamRes)) {
        // Before the response: a client that saw success knows its event is already queued.
        try {
          await publish(created, req, upstreamRes);
        } catch (err) {
          log('landing-event-failed', { subject: subjectOf(created), error: errorText(err) });
        }
      }
      if (res.destroyed) {
        upstreamRes.destroy();
        return;
      }
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, withoutHopByHop(upstreamRes.headers));
      await pipeline(upstreamRes, res).catch(() => undefined);
    };
    // Method, path, query and headers (Host included) go unchanged: Shared Key and SAS signatures
    // cover them, not the address the client connected to.
    const upstreamReq = httpRequest({
      host: upstreamUrl.hostname,
      port: upstreamUrl.port,
      method: req.method,
      path: req.url,
      headers: withoutHopByHop(req.headers),
      agent,
    });
    upstreamReq.once('response', (upstreamRes) => void relay(upstreamRes));
    upstreamReq.once('error', (err) => {
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain', connection: 'close' });
        res.end(`Azurite did not answer: ${err.message}\n`);
      } else {
        res.destroy(err);
      }
    });
    res.once('close', () => {
      if (!res.writableFinished) upstreamReq.destroy();
    });
    // Streams the body (back-pressure both ways); a client that hangs up aborts the upstream write.
    pipeline(req, upstreamReq).catch(() => upstreamReq.destroy());
  };

  // requestTimeout 0: Node's default (300 s for a whole request) would cut off large uploads.
  const server = createServer({ requestTimeout: 0 }, handle);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  blobEndpoint = `${url}/${upstream.accountName}`;
  return {
    url,
    blobEndpoint,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${upstream.accountName};AccountKey=${upstream.accountKey};` +
      `BlobEndpoint=${blobEndpoint};`,
    queueName: options.queue.queueName,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}

interface CreatedBlob {
  readonly api: BlobCreatedApi;
  readonly container: string;
  readonly blob: string;
}

type Decision =
  { readonly refusal: LandingProxyRefusal; readonly message: string } | { readonly created: CreatedBlob | undefined };

/**
 * Decides whether a request may pass and whether it may create a blob. The account is read the
 * way Azurite reads it (`extractStoragePartsFromPath`: the first segment of the decoded path,
 * unless the Host looks like `account.domain`), so both always agree on which account a request
 * is for.
 */
function classify(req: IncomingMessage, account: string): Decision {
  const rawUrl = req.url ?? '';
  const queryAt = rawUrl.indexOf('?');
  const rawPath = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
  // Printable ASCII only, and no `#` or `\`: what URL parsers could read differently is refused.
  if (!/^\/[\x21-\x7e]*$/.test(rawPath) || /[#\\]/.test(rawPath)) {
    return { refusal: 'LandingProxyRequestRefused', message: 'The request target is not a plain path.' };
  }
  if (!pathStyleHost(header(req.headers, 'host'))) {
    // Azurite would take the account from a dotted host name (`devstoreaccount1.blob.localhost`).
    return {
      refusal: 'LandingProxyHostRefused',
      message: 'Only path-style addresses (an IP address or a dotless host name) are served.',
    };
  }
  const segments = decodedSegments(rawPath);
  if (segments?.[0] !== account) {
    return { refusal: 'LandingProxyAccountRefused', message: `This endpoint serves the ${account} account only.` };
  }
  const query = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(queryAt === -1 ? '' : rawUrl.slice(queryAt + 1))) {
    query.set(name.toLowerCase(), value.toLowerCase());
  }
  // A batch carries sub-requests with paths of their own.
  if (query.get('comp') === 'batch') {
    return { refusal: 'LandingProxyBatchRefused', message: 'Blob batch is not served by the local landing endpoint.' };
  }
  const copySource = header(req.headers, 'x-ms-copy-source');
  if (copySource !== undefined && !copySourceInAccount(copySource, account)) {
    return {
      refusal: 'LandingProxyCopySourceRefused',
      message: `A copy source must be a blob of the ${account} account.`,
    };
  }
  const container = segments[1] ?? '';
  // Azurite stores `\` in blob names as `/`, as Azure does.
  const blob = segments.slice(2).join('/').replace(/\\/g, '/');
  if (req.method !== 'PUT' || container === '' || blob === '' || query.has('restype')) return { created: undefined };
  const comp = query.get('comp');
  let api: BlobCreatedApi | undefined;
  if (comp === 'blocklist') api = 'PutBlockList';
  else if (comp !== undefined) api = undefined;
  else if (copySource !== undefined)
    api = header(req.headers, 'x-ms-blob-type') === undefined ? 'CopyBlob' : 'PutBlobFromUrl';
  else if (header(req.headers, 'x-ms-blob-type') !== undefined) api = 'PutBlob';
  return { created: api === undefined ? undefined : { api, container, blob } };
}

/** Put Blob / Put Block List answer 201; Copy Blob answers 202 and, in Azurite, is already done. */
function succeeded(api: BlobCreatedApi, res: IncomingMessage): boolean {
  if (api === 'CopyBlob') return res.statusCode === 202 && header(res.headers, 'x-ms-copy-status') === 'success';
  return res.statusCode === 201;
}

function decodedSegments(rawPath: string): string[] | undefined {
  try {
    return decodeURIComponent(rawPath).slice(1).split('/');
  } catch {
    return undefined;
  }
}

/** Whether Azurite reads the account from the path for this Host (it does for IPs and dotless names). */
function pathStyleHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const hostname = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : (host.split(':')[0] ?? '');
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname) || (hostname !== '' && !hostname.includes('.'));
}

/** Azurite parses a copy source with `new URL` and reads its account as for a request. */
function copySourceInAccount(copySource: string, account: string): boolean {
  let url: URL;
  try {
    url = new URL(copySource);
  } catch {
    return false;
  }
  const hostname = url.hostname;
  return pathStyleHost(hostname) && decodedSegments(url.pathname)?.[0] === account;
}

/** Hop-by-hop headers (RFC 9110 7.6.1) are the connection's own; everything else passes unchanged. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
]);

function withoutHopByHop(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set((header(headers, 'connection') ?? '').split(',').map((h) => h.trim().toLowerCase()));
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && !named.has(name)) out[name] = value;
  }
  return out;
}

function refuse(res: ServerResponse, code: LandingProxyRefusal, message: string): void {
  const body = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  // connection: close, so a refused upload is not read to its end.
  res.writeHead(REFUSAL_STATUS[code], {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
    'x-ms-error-code': code,
    connection: 'close',
  });
  res.end(body);
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function unquote(etag: string): string {
  return etag.length >= 2 && etag.startsWith('"') && etag.endsWith('"') ? etag.slice(1, -1) : etag;
}

function subjectOf(created: CreatedBlob): string {
  return `/blobServices/default/containers/${created.container}/blobs/${created.blob}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Sequencers as 32 hex digits that grow with every event: milliseconds since the epoch shifted
 * left 20 bits, so they also keep growing across restarts of a persisted `npm start`.
 */
function createSequencer(): () => string {
  let last = 0n;
  return () => {
    const now = BigInt(Date.now()) << 20n;
    last = now > last ? now : last + 1n;
    return last.toString(16).padStart(32, '0');
  };
}
