import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { finished, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RequestTimeoutError, ValidationError } from '../../shared/errors.js';
import { toProblem } from '../../shared/http/problems.js';
import { DEFAULT_BODY_TIMEOUTS, type BodyTimeouts } from '../../shared/http/read-body.js';
import { requestIdFor } from '../../shared/http/request-id.js';
import { bodyWatchdog } from './body-watchdog.js';
import type { CoreApi, Registration } from './core-api.js';
import type { RpcBindingInfo } from './core-types.js';
import { invoke } from './invoke.js';
import type { RuntimeLogger } from './logger.js';
import { byPrecedence, compileRoute, type CompiledRoute } from './route-template.js';

interface HttpRoute {
  readonly registration: Registration;
  readonly triggerName: string;
  readonly methods: ReadonlySet<string> | undefined;
  readonly route: CompiledRoute;
}

export interface HttpHost {
  readonly url: string;
  readonly routes: readonly { name: string; methods: string[]; route: string; authLevel: string }[];
  close(): Promise<void>;
}

/**
 * Serves the app's HTTP triggers the way the Functions host does with HTTP streaming enabled:
 * the client's request is forwarded, body streaming, to the proxy server that @azure/functions
 * opens in the worker (its `HttpUri` capability), tagged with `x-ms-invocation-id`, while the
 * invocation runs through the programming model; the library writes the function's response to
 * that proxied request, and it is streamed back to the client. Nothing is buffered either way.
 *
 * A request body that has not arrived within `bodyTimeouts.totalMs` of the headers, or pauses
 * for `bodyTimeouts.idleMs`, gets 408 problem+json `REQUEST_TIMEOUT` (if nothing was answered
 * yet) and its connection is closed. A request target that is not a path (`OPTIONS *`,
 * `GET http://host/path`, `CONNECT host:port`) gets 400 `INVALID_REQUEST` and runs no function.
 */
export async function startHttpHost(
  core: CoreApi,
  proxyUri: string,
  options: { port: number; host: string; logger: RuntimeLogger; bodyTimeouts?: BodyTimeouts },
): Promise<HttpHost> {
  const routes = collectRoutes(core);
  const proxy = new URL(proxyUri);
  const logger = options.logger;
  const timeouts = options.bodyTimeouts ?? DEFAULT_BODY_TIMEOUTS;

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.write('error', 'system', `HTTP host failure: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) {
        res.writeHead(500);
      }
      res.destroy();
    });
  });
  // Node's own request timeout is off: its checker runs only every 30 s and answers an empty 408.
  // The body timeouts are per request (bodyWatchdog, from the end of the headers); the headers
  // themselves stay under Node's headersTimeout (60 s).
  server.requestTimeout = 0;
  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    socket.on('error', () => undefined);
    socket.end(rawProblem(req, badTarget()));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.url ?? '/';
    if (!target.startsWith('/')) {
      // Asterisk- and absolute-form (RFC 9112 §3.2): the worker's library builds the request URL
      // as host + target, so these failed inside the function as an empty 500.
      sendProblem(req, res, badTarget());
      return;
    }
    // Prefixed, not resolved against a base: `//a/b` is the path `//a/b`, not host `a` and path `/b`.
    const url = new URL(`http://local${target}`);
    const method = (req.method ?? 'GET').toUpperCase();
    let timedOut = false;
    // Aborts the request forwarded to the function (none yet for an unmatched route).
    const upstream = new AbortController();
    const watchdog = bodyWatchdog(timeouts, (expiry) => {
      timedOut = true;
      if (res.headersSent) {
        upstream.abort();
        res.destroy();
        return;
      }
      // The function's request is aborted only once the answer is out: aborting it ends the
      // upload pipeline, which destroys the client's socket.
      finished(res, () => upstream.abort());
      sendProblem(
        req,
        res,
        new RequestTimeoutError(
          expiry === 'idle'
            ? `The request body stopped arriving for ${timeouts.idleMs / 1000} s`
            : `The request body did not arrive within ${timeouts.totalMs / 1000} s`,
        ),
      );
    });
    // Whatever happens to the response after a timeout answered it, it is left to finish and close.
    const drop = (): void => {
      if (!timedOut) res.destroy();
    };
    const found = findRoute(routes, url.pathname, method);
    if (found === undefined) {
      // The host answers an unmatched route with an empty 404.
      res.writeHead(404, { 'content-length': '0' });
      res.end();
      await pipeline(req, watchdog, discard()).catch(() => undefined);
      return;
    }
    const { route, params } = found;
    const invocationId = randomUUID();
    const headers = headersOf(req);
    const triggerMetadata: Record<string, { string?: string; json?: string }> = {
      Headers: { json: JSON.stringify(headers) },
      Query: { json: JSON.stringify(Object.fromEntries(url.searchParams)) },
    };
    for (const [key, value] of Object.entries(params)) {
      triggerMetadata[key] = { string: value };
    }

    const forwarded = http.request({
      signal: upstream.signal,
      host: proxy.hostname,
      port: proxy.port,
      method,
      path: req.url,
      headers: {
        ...req.headers,
        'x-ms-invocation-id': invocationId,
        'x-forwarded-host': req.headers.host ?? `${options.host}:${options.port}`,
        'x-forwarded-proto': 'http',
      },
    });
    const responded = new Promise<void>((resolve, reject) => {
      forwarded.on('response', (proxied) => {
        if (timedOut) {
          // The client already has its 408; whatever the function answered goes nowhere.
          proxied.resume();
          resolve();
          return;
        }
        const outHeaders = { ...proxied.headers };
        delete outHeaders['x-ms-invocation-id'];
        // The function answered before reading the whole request body (a 413, 415, 401...): the
        // rest of the upload is not read, so the connection cannot be reused after this response.
        if (!req.complete) outHeaders.connection = 'close';
        res.writeHead(proxied.statusCode ?? 500, outHeaders);
        pipeline(proxied, res).then(resolve, reject);
      });
      forwarded.on('error', reject);
    });
    // Settled below; this keeps an aborted proxy request from surfacing as an unhandled rejection.
    responded.catch(() => undefined);
    const upload = pipeline(req, watchdog, forwarded).catch(() => undefined);

    try {
      await invoke(
        core,
        route.registration,
        {
          invocationId,
          inputData: [{ name: route.triggerName, data: { http: { method, url: url.href, headers } } }],
          triggerMetadata,
        },
        logger,
      );
    } catch {
      // An exception in the function: the host answers 500 with no body.
      forwarded.destroy();
      if (!res.headersSent) {
        res.writeHead(500, { 'content-length': '0' });
        res.end();
      } else {
        drop();
      }
      return;
    }
    await responded.catch(drop);
    if (!req.complete && !timedOut) {
      forwarded.destroy();
      req.destroy();
    }
    await upload;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${address.port}`,
    routes: routes.map((r) => ({
      name: r.registration.metadata.name,
      methods: r.methods === undefined ? ['*'] : [...r.methods],
      route: r.route.template,
      authLevel: authLevelOf(bindingOf(r.registration)),
    })),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function badTarget(): ValidationError {
  return new ValidationError('The request target must be a path (origin-form, RFC 9112 §3.2.1)');
}

/**
 * The runtime's own problem+json answer to `req`, with the headers the app's pipeline sets on
 * every answer (so it looks like the app's) and `Connection: close`: the rest of the request is
 * not read.
 */
function problemFor(req: IncomingMessage, err: Error): { status: number; headers: Record<string, string>; body: string } {
  const incomingId = req.headers['x-request-id'];
  const problem = toProblem(err, requestIdFor(typeof incomingId === 'string' ? incomingId : null));
  const body = JSON.stringify(problem.body);
  const headers = {
    ...problem.headers,
    'x-request-id': problem.body.requestId,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    connection: 'close',
    'content-length': String(Buffer.byteLength(body)),
  };
  return { status: problem.status, headers, body };
}

function sendProblem(req: IncomingMessage, res: ServerResponse, err: Error): void {
  const { status, headers, body } = problemFor(req, err);
  res.writeHead(status, headers);
  res.end(body);
}

/** A whole HTTP/1.1 problem response, for a socket Node hands over without a response object (CONNECT). */
function rawProblem(req: IncomingMessage, err: Error): string {
  const { status, headers, body } = problemFor(req, err);
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\n${lines.join('')}\r\n${body}`;
}

/** A sink for a body nobody reads (the unmatched route's), so it still passes the watchdog. */
function discard(): Writable {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
}

function collectRoutes(core: CoreApi): HttpRoute[] {
  const routes: HttpRoute[] = [];
  for (const registration of core.registrations.values()) {
    const [triggerName, binding] = triggerOf(registration);
    if (binding.type?.toLowerCase() !== 'httptrigger') continue;
    const methods = Array.isArray(binding.methods)
      ? new Set((binding.methods as unknown[]).map((m) => String(m).toUpperCase()))
      : undefined;
    const template = typeof binding.route === 'string' ? binding.route : registration.metadata.name;
    routes.push({ registration, triggerName, methods, route: compileRoute(template) });
  }
  return routes.sort((a, b) => byPrecedence(a.route, b.route));
}

function findRoute(routes: HttpRoute[], path: string, method: string) {
  for (const route of routes) {
    if (route.methods !== undefined && !route.methods.has(method)) continue;
    const params = route.route.match(path);
    if (params !== undefined) return { route, params };
  }
  return undefined;
}

/** The trigger binding of a registration: the one whose type ends in "Trigger". */
export function triggerOf(registration: Registration): [string, RpcBindingInfo] {
  for (const [name, binding] of Object.entries(registration.metadata.bindings)) {
    if (/trigger$/i.test(binding.type ?? '')) return [name, binding];
  }
  throw new Error(`Function "${registration.metadata.name}" has no trigger binding.`);
}

function bindingOf(registration: Registration): RpcBindingInfo {
  return triggerOf(registration)[1];
}

// Like Core Tools, the local runtime serves every route as anonymous; the level is only reported.
function authLevelOf(binding: RpcBindingInfo): string {
  return typeof binding.authLevel === 'string' ? binding.authLevel : 'anonymous';
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    headers[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}
