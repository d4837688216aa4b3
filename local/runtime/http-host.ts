import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
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
 */
export async function startHttpHost(
  core: CoreApi,
  proxyUri: string,
  options: { port: number; host: string; logger: RuntimeLogger },
): Promise<HttpHost> {
  const routes = collectRoutes(core);
  const proxy = new URL(proxyUri);
  const logger = options.logger;

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.write('error', 'system', `HTTP host failure: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) {
        res.writeHead(500);
      }
      res.destroy();
    });
  });
  // Long uploads and downloads are legitimate; the app enforces its own limits.
  server.requestTimeout = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const method = (req.method ?? 'GET').toUpperCase();
    const found = findRoute(routes, url.pathname, method);
    if (found === undefined) {
      // The host answers an unmatched route with an empty 404.
      res.writeHead(404, { 'content-length': '0' });
      res.end();
      req.resume();
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
    const upload = pipeline(req, forwarded).catch(() => undefined);

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
        res.destroy();
      }
      return;
    }
    await responded.catch(() => res.destroy());
    if (!req.complete) {
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
