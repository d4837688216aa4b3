import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ADMIN_PREFIX, handleAdminRequest, type EmulatorControls } from './admin.js';
import { KeyVaultServiceError, badParameter, type KeyVaultErrorCode } from './errors.js';
import { FaultInjector, RequestCounters, type FaultSpec } from './faults.js';
import { readJsonObject, sendJson } from './http-io.js';
import { IDENTITY_PATH, TokenAuthority, handleIdentityRequest, newPersistedIdentity, type ManagedIdentity } from './identity.js';
import { KeyStore, keyIndex } from './key-store.js';
import { matchVaultRoute } from './routes.js';
import { VaultService } from './vault-service.js';

// Accepts Key Vault's 7.x versions and the date-style versions that followed (2025-07-01 is the
// client's default); the emulator serves one behaviour for all of them.
const API_VERSION = /^(7\.\d+|\d{4}-\d{2}-\d{2})(-preview(\.\d+)?)?$/;

/** One line of the emulator's request log: never bodies, tokens or key material. */
export interface EmulatorLogEntry {
  method: string;
  path: string;
  status: number;
  operation?: string;
}

/** Options of {@link startKeyVaultEmulator}. */
export interface KeyVaultEmulatorOptions {
  /** Vault HTTPS port; 0 (default) picks a free one. */
  port?: number;
  /** Managed identity endpoint port (plain HTTP); 0 (default) picks a free one. */
  identityPort?: number;
  /** Loopback address to listen on (default 127.0.0.1). */
  host?: string;
  /** JSON file holding keys, deleted keys, access rules and identity material; absent = memory only. */
  dataFile?: string;
  /** Server certificate and key, e.g. from `ensureDevTls()`. */
  tls: { certPem: string; keyPem: string };
  /** Receives one entry per request (no secrets in it). Silent when absent. */
  log?: (entry: EmulatorLogEntry) => void;
  /**
   * Trust (and issue) the tokens of another emulator's authority instead of this one's own: a
   * second vault in the same Entra ID, e.g. a customer's vault next to our system vault, reached
   * with the one app identity. Absent: this emulator has its own tenant and signing key.
   */
  tokenAuthority?: TokenAuthority;
}

/** A running emulator: the vault URL, the identity endpoint, and the test/admin controls. */
export interface KeyVaultEmulator extends EmulatorControls {
  /** Vault URL, e.g. `https://127.0.0.1:PORT`. */
  url: string;
  /** `IDENTITY_ENDPOINT` for ManagedIdentityCredential/DefaultAzureCredential (App Service protocol). */
  identityEndpoint: string;
  /** `IDENTITY_HEADER`, the secret the identity endpoint expects in `X-IDENTITY-HEADER`. */
  identityHeader: string;
  /** Tenant named in the 401 challenge and in tokens. */
  tenantId: string;
  /** The system-assigned identity (what a credential without a client id gets). */
  systemAssignedIdentity: ManagedIdentity;
  /** The token authority (signing key) this emulator trusts, to share with a second emulator. */
  tokenAuthority: TokenAuthority;
  /** The environment a process needs to reach this emulator with DefaultAzureCredential (add NODE_EXTRA_CA_CERTS). */
  env(): { IDENTITY_ENDPOINT: string; IDENTITY_HEADER: string };
  /** Stops both listeners, releasing stalled requests; waits for pending saves. */
  close(): Promise<void>;
}

/**
 * Starts a local stand-in for Azure Key Vault's keys API (HTTPS) and an App Service-style managed
 * identity endpoint (HTTP, loopback), faithful enough for the unmodified `@azure/keyvault-keys`
 * clients with `@azure/identity`. Dev/test only.
 */
export async function startKeyVaultEmulator(opts: KeyVaultEmulatorOptions): Promise<KeyVaultEmulator> {
  const host = opts.host ?? '127.0.0.1';
  const store = await KeyStore.open(opts.dataFile);
  if (!store.state.identity) {
    store.state.identity = newPersistedIdentity();
    await store.save();
  }
  const authority = opts.tokenAuthority ?? new TokenAuthority(store.state.identity);
  const faults = new FaultInjector();
  const counters = new RequestCounters();
  const stalls = new Set<() => void>();
  const log = opts.log ?? (() => undefined);

  const vaultServer = createHttpsServer({ cert: opts.tls.certPem, key: opts.tls.keyPem });
  const identityServer = createHttpServer();
  await listen(vaultServer, opts.port ?? 0, host);
  await listen(identityServer, opts.identityPort ?? 0, host);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `https://${urlHost}:${(vaultServer.address() as AddressInfo).port}`;
  const identityEndpoint = `http://${urlHost}:${(identityServer.address() as AddressInfo).port}${IDENTITY_PATH}`;
  const service = new VaultService({ vaultUrl: url, store });

  const controls: EmulatorControls = {
    info: () => ({
      url,
      identityEndpoint,
      tenantId: authority.tenantId,
      systemAssignedIdentity: authority.systemAssigned,
      purgeProtection: store.state.purgeProtection,
    }),
    async revokeAccess(identity, keyName) {
      const exists = store.state.revocations.some((r) => sameRule(r, identity, keyName));
      if (!exists) store.state.revocations.push({ identity, keyName });
      await store.save();
    },
    async restoreAccess(identity, keyName) {
      store.state.revocations = store.state.revocations.filter((r) => !sameRule(r, identity, keyName));
      await store.save();
    },
    listRevocations: () => store.state.revocations.map((r) => ({ ...r })),
    async setPurgeProtection(enabled) {
      store.state.purgeProtection = enabled;
      await store.save();
    },
    injectFault: (spec: FaultSpec) => faults.add(spec),
    listFaults: () => faults.list(),
    clearFaults: () => faults.clear(),
    requestCounts(options) {
      const snapshot = counters.snapshot();
      if (options?.reset) counters.reset();
      return snapshot;
    },
    resetRequestCounts: () => counters.reset(),
  };

  async function serveVault(req: IncomingMessage, res: ServerResponse): Promise<string | undefined> {
    const requestUrl = new URL(req.url ?? '/', url);
    if (requestUrl.pathname.startsWith(ADMIN_PREFIX)) {
      await handleAdminRequest(req, res, controls);
      return 'admin';
    }
    const route = matchVaultRoute(req.method ?? 'GET', requestUrl.pathname);
    // The body is read before anything can answer, so an early 401/503 never leaves it unread.
    const body = await readJsonObject(req);
    const fault = faults.take(route.operation);
    if (fault?.kind === 'stall') {
      await new Promise<void>((resolve) => {
        const release = (): void => {
          stalls.delete(release);
          resolve();
        };
        stalls.add(release);
        if (fault.ms !== undefined) setTimeout(release, fault.ms).unref();
      });
      if (res.destroyed) return route.operation;
    } else if (fault) {
      counters.increment('faulted');
      throw faultError(fault.status, fault.retryAfterSeconds);
    }
    let caller;
    try {
      caller = await authority.verify(req.headers.authorization);
    } catch (err) {
      counters.increment('unauthenticated');
      throw err;
    }
    counters.increment(route.operation);
    const apiVersion = requestUrl.searchParams.get('api-version');
    if (!apiVersion || !API_VERSION.test(apiVersion)) throw badParameter('The request URI contains an unsupported or missing api-version.');
    const result = await service.handle(route, caller, requestUrl.searchParams, body);
    if (result.body === undefined) {
      res.writeHead(result.status, { 'content-length': '0' });
      res.end();
    } else {
      sendJson(res, result.status, result.body);
    }
    return route.operation;
  }

  vaultServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', url).pathname;
    serveVault(req, res).then(
      (operation) => log({ method: req.method ?? '', path, status: res.statusCode, ...(operation ? { operation } : {}) }),
      (err: unknown) => {
        const failure = err instanceof KeyVaultServiceError ? err : new KeyVaultServiceError(500, 'InternalServerError', 'Internal error.', { cause: err });
        if (!res.headersSent && !res.destroyed) sendJson(res, failure.status, failure.toBody(), { ...failure.headers });
        log({ method: req.method ?? '', path, status: failure.status });
      },
    );
  });

  identityServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handleIdentityRequest(req, res, authority, () => counters.increment('token')).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { statusCode: 500, message: 'Internal error.' });
    });
  });

  return {
    ...controls,
    url,
    identityEndpoint,
    identityHeader: authority.identityHeader,
    tenantId: authority.tenantId,
    systemAssignedIdentity: authority.systemAssigned,
    tokenAuthority: authority,
    env: () => ({ IDENTITY_ENDPOINT: identityEndpoint, IDENTITY_HEADER: authority.identityHeader }),
    async close() {
      for (const release of [...stalls]) release();
      await Promise.all([closeServer(vaultServer), closeServer(identityServer)]);
      await store.flush();
    },
  };
}

function sameRule(rule: { identity: string; keyName: string }, identity: string, keyName: string): boolean {
  return rule.identity.toLowerCase() === identity.toLowerCase() && keyIndex(rule.keyName) === keyIndex(keyName);
}

function faultError(status: number, retryAfterSeconds: number | undefined): KeyVaultServiceError {
  const code: KeyVaultErrorCode = status === 429 ? 'Throttled' : status === 503 ? 'ServiceUnavailable' : status >= 500 ? 'InternalServerError' : 'BadParameter';
  const headers: Record<string, string> = retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) };
  return new KeyVaultServiceError(status, code, `Injected fault (${status}).`, { headers });
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive sockets from SDK clients would otherwise hold close() open.
    server.closeAllConnections();
  });
}
