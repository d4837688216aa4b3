import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { StoragePipelineOptions } from '@azure/storage-blob';
import { SourceError } from '../errors.js';
import type { OutboundGuard } from './outbound-guard.js';

/**
 * Connecting HTTP clients (the Azure SDK's among them) through an {@link OutboundGuard}: an agent
 * that connects only to addresses the guard checked, and the ways to hand it to the SDK.
 */

/** The protocols a pinned agent speaks. */
export type OutboundProtocol = 'http:' | 'https:';

type ConnectionCallback = (err: Error | null, stream: Duplex) => void;

/**
 * A keep-alive `http.Agent` (or `https.Agent` for `'https:'`) that connects only to addresses the
 * guard checked: a host name through the guard's `lookup` (one resolution, checked, then used),
 * an IP literal (for which Node skips `lookup`) through `guard.check` before the socket opens.
 * A refusal is the request's error; the Azure SDK carries it as a `RestError` with the guard's
 * code (see {@link guardErrorOf}).
 */
export function createPinnedAgent(guard: OutboundGuard, protocol: OutboundProtocol): http.Agent {
  return protocol === 'https:' ? new PinnedHttpsAgent(guard) : new PinnedHttpAgent(guard);
}

class PinnedHttpAgent extends http.Agent {
  readonly #guard: OutboundGuard;

  constructor(guard: OutboundGuard) {
    super({ keepAlive: true, lookup: guard.lookup });
    this.#guard = guard;
  }

  override createConnection(options: http.ClientRequestArgs, callback?: ConnectionCallback): Duplex | null | undefined {
    return connectChecked(this.#guard, options, callback, () => super.createConnection(options));
  }
}

class PinnedHttpsAgent extends https.Agent {
  readonly #guard: OutboundGuard;

  constructor(guard: OutboundGuard) {
    super({ keepAlive: true, lookup: guard.lookup });
    this.#guard = guard;
  }

  override createConnection(options: https.RequestOptions, callback?: ConnectionCallback): Duplex | null | undefined {
    return connectChecked(this.#guard, options, callback, () => super.createConnection(options));
  }
}

/**
 * Opens the socket at once for a host name (the agent's `lookup` checks it), or after
 * `guard.check` for an IP literal, handing the socket (or the refusal) to `callback` as
 * `http.Agent#createConnection` allows.
 */
function connectChecked(
  guard: OutboundGuard,
  options: http.ClientRequestArgs,
  callback: ConnectionCallback | undefined,
  connect: () => Duplex | null | undefined,
): Duplex | null | undefined {
  const host = options.host ?? options.hostname ?? '';
  if (!isIpLiteral(host)) return connect();
  if (callback === undefined)
    throw new SourceError('ADDRESS_NOT_ALLOWED', 'An IP literal is connected to only through an agent request');
  guard.check(host).then(
    () => {
      let socket: Duplex | null | undefined;
      try {
        socket = connect();
      } catch (err) {
        fail(callback, err);
        return;
      }
      if (socket !== null && socket !== undefined) callback(null, socket);
    },
    (err: unknown) => fail(callback, err),
  );
  return undefined;
}

/**
 * Hands an error to `createConnection`'s callback. On an error Node's Agent reads nothing else
 * (lib/_http_agent.js, `oncreate`), though @types/node types the stream as always given.
 */
function fail(callback: ConnectionCallback, err: unknown): void {
  (callback as (err: Error) => void)(err instanceof Error ? err : new Error(String(err)));
}

/** True for `10.0.0.1`, `::1` and `[::1]` (as `URL.hostname` writes IPv6). */
function isIpLiteral(host: string): boolean {
  return isIP(host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host) !== 0;
}

function protocolOf(url: URL): OutboundProtocol {
  if (url.protocol === 'http:' || url.protocol === 'https:') return url.protocol;
  throw new SourceError('ADDRESS_NOT_ALLOWED', 'Only http and https URLs are connected to');
}

/** Name of {@link outboundPolicy} in a pipeline. */
export const OUTBOUND_POLICY_NAME = 'cipherflowOutboundPolicy';

/**
 * A `@azure/core-rest-pipeline` policy that sends every request through a pinned agent
 * ({@link createPinnedAgent}, one per protocol, made once per policy) and checks an IP-literal
 * host before anything is sent. A refusal is thrown as the guard's SourceError.
 *
 * Add it at position `'perRetry'`: core-client places such a policy after the Sign phase, inside
 * the retry and redirect policies, so it runs again for every attempt (a storage retry may move
 * to the secondary host) and for every redirect hop (whose target may be an IP literal).
 * `'perCall'` runs once, outside both.
 *
 * On `@azure/storage-blob` clients only when each client is built on a pipeline of its own, as
 * `sources/azure-blob-reader.ts` builds them (the app's way): a client derived with
 * `getContainerClient` or `getBlobClient` adds the policy again to the shared pipeline, which then
 * refuses every request ("Duplicate policy names not allowed in pipeline"). For clients that are
 * derived, {@link guardedPipelineOptions} gives the same guard through the agent option.
 * @throws ADDRESS_NOT_ALLOWED, SOURCE_UNREACHABLE (SourceErrors) from the guard.
 */
export function outboundPolicy(guard: OutboundGuard): PipelinePolicy {
  const agents = new Map<OutboundProtocol, http.Agent>();
  const agentFor = (protocol: OutboundProtocol): http.Agent => {
    let agent = agents.get(protocol);
    if (agent === undefined) {
      agent = createPinnedAgent(guard, protocol);
      agents.set(protocol, agent);
    }
    return agent;
  };
  return {
    name: OUTBOUND_POLICY_NAME,
    async sendRequest(request, next) {
      const url = new URL(request.url);
      const agent = agentFor(protocolOf(url));
      // Node calls no `lookup` for an IP literal; checked here for a clear error (the agent checks again).
      if (isIpLiteral(url.hostname)) await guard.check(url.hostname);
      // Replaces any agent set before (a proxy's from HTTPS_PROXY): a proxy would resolve the name itself.
      request.agent = agent;
      try {
        return await next(request);
      } catch (err) {
        throw guardErrorOf(err) ?? err;
      }
    },
  };
}

/**
 * Options for an `@azure/storage-blob` client that connects only where the guard allows:
 * `StoragePipelineOptions` plus two options its type does not declare but its pipeline reads
 * (the options bag is spread into `@azure/core-client`'s `createClientPipeline`).
 */
export type GuardedPipelineOptions = StoragePipelineOptions & {
  /** A pinned agent, set on every request by the pipeline's agent policy (before any proxy policy). */
  readonly agent: http.Agent;
  /**
   * No redirect is followed: `maxRetries: 0` for core-rest-pipeline's redirect policy, and
   * `handleRedirects: false` makes core-http-compat's client remove that policy altogether.
   */
  readonly redirectOptions: { readonly handleRedirects: false; readonly maxRetries: 0 };
};

/**
 * The pipeline options that make an `@azure/storage-blob` client (12.x) connect only to
 * addresses the guard checked, for the client built on `url` (a SAS URI, or the blob endpoint of
 * a connection string; its protocol picks the agent). Pass them as the client's options:
 *
 * ```ts
 * const client = new ContainerClient(sasUri, new AnonymousCredential(), guardedPipelineOptions(guard, sasUri));
 * const service = BlobServiceClient.fromConnectionString(connectionString, guardedPipelineOptions(guard, blobEndpoint));
 * ```
 *
 * Clients derived from it (`getContainerClient`, `getBlobClient`) share its pipeline and so its
 * agent. The options carry an `agent` rather than {@link outboundPolicy} in `additionalPolicies`
 * because storage-blob re-adds `additionalPolicies` for every derived client, which breaks the
 * pipeline. The agent checks IP literals itself, so no policy is needed; redirects are not
 * followed. A refusal reaches the caller as the SDK's `RestError` carrying the guard's code and
 * detail; {@link guardErrorOf} turns it back into the SourceError. A new agent is made per call:
 * build a client once and reuse it (its idle sockets do not keep the process alive).
 * @throws ADDRESS_NOT_ALLOWED when `url` is neither http nor https.
 */
export function guardedPipelineOptions(guard: OutboundGuard, url: string | URL): GuardedPipelineOptions {
  return {
    agent: createPinnedAgent(guard, protocolOf(new URL(url))),
    redirectOptions: { handleRedirects: false, maxRetries: 0 },
  };
}

/**
 * The guard's SourceError behind an error an HTTP client threw, or `undefined` when the error is
 * something else. The Azure SDK's HTTP client rethrows a socket's error as a `RestError` with
 * only its message and code, so a refusal by the agent's `lookup` or IP check arrives as a
 * `RestError` with code ADDRESS_NOT_ALLOWED or SOURCE_UNREACHABLE and no HTTP status (a status
 * means the server answered, and its `x-ms-error-code` is the server's to choose, never ours).
 */
export function guardErrorOf(error: unknown): SourceError | undefined {
  if (error instanceof SourceError) return error;
  if (!(error instanceof Error) || error.name !== 'RestError') return undefined;
  if ('statusCode' in error && error.statusCode !== undefined) return undefined;
  const code = 'code' in error ? error.code : undefined;
  if (code !== 'ADDRESS_NOT_ALLOWED' && code !== 'SOURCE_UNREACHABLE') return undefined;
  return new SourceError(code, error.message, { cause: error });
}
