import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors.js';
import { createOutboundGuard, type ResolvedAddress } from '../../shared/outbound/outbound-guard.js';
import { AZURE_BLOB_CONNECTION_SPEC, parseConnectionAuth, SFTP_CONNECTION_SPEC, type ConnectionAuth } from '../../shared/sources/connection-auth.js';
import { createSourceOpener } from '../../shared/sources/open-source.js';

/**
 * Attack: a tenant points a base connection (or explore, or a scheduled run) at an internal
 * address: an SFTP host or a Blob endpoint (SAS URI, connection string) whose name resolves to a
 * private, loopback or link-local address (cloud metadata, the app's own storage or vault), so
 * the app connects into its own network on the tenant's behalf.
 * Property: in production the app's source opener refuses every such destination with
 * ADDRESS_NOT_ALLOWED, for every kind of source, before a socket reaches it; loopback is allowed
 * in local mode only.
 */

/** Every address the attacker's names resolve to; a listener on 127.0.0.1 stands in for them all. */
const DNS: Record<string, string> = {
  'sftp.attacker.example': '10.0.0.5',
  'metadata.attacker.example': '169.254.169.254',
  'acct.blob.attacker.example': '192.168.1.10',
  'loopback.attacker.example': '127.0.0.1',
};
const resolver = (host: string): Promise<readonly ResolvedAddress[]> => {
  const address = DNS[host];
  return address === undefined ? Promise.reject(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' })) : Promise.resolve([{ address, family: 4 as const }]);
};

let server: net.Server;
let port = 0;
let connections = 0;

beforeAll(async () => {
  server = net.createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  port = typeof address === 'object' && address !== null ? address.port : 0;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function auth(spec: string, specName: string, params: Record<string, unknown>): ConnectionAuth {
  const parsed = parseConnectionAuth(spec, { specName, params });
  if (!('auth' in parsed)) throw new Error(JSON.stringify(parsed.issues));
  return parsed.auth;
}

const sftp = (host: string) => auth(SFTP_CONNECTION_SPEC, 'Basic Authentication for sftp', { host, port, userName: 'u', password: 'p' });
const sas = (url: string) => auth(AZURE_BLOB_CONNECTION_SPEC, 'SAS URI Authentication', { sasUri: `${url}/c01?sv=2024-08-04&sp=rl&se=2099-01-01T00:00:00Z&sr=c&sig=c2ln` });
const connectionString = (endpoint: string) =>
  auth(AZURE_BLOB_CONNECTION_SPEC, 'ConnectionString', { connectionString: `AccountName=acct;AccountKey=${Buffer.alloc(64, 1).toString('base64')};BlobEndpoint=${endpoint}`, container: 'c01' });

async function codeOf(opened: ConnectionAuth, local = false): Promise<string> {
  const open = createSourceOpener({ guard: createOutboundGuard({ resolver, allowLoopback: local }), local });
  const reader = open(opened, {});
  try {
    await reader.listFolder('', { limit: 1 });
    return 'connected';
  } catch (err) {
    return err instanceof AppError ? err.code : String(err);
  } finally {
    await reader.close();
  }
}

describe('attack: a source connection pointed at an internal address', () => {
  it.each([
    ['an SFTP host name resolving to 10.0.0.5', () => sftp('sftp.attacker.example')],
    ['an SFTP host given as a private address', () => sftp('172.16.0.9')],
    ['an SFTP host resolving to the cloud metadata address', () => sftp('metadata.attacker.example')],
    ['an SFTP host resolving to loopback', () => sftp('loopback.attacker.example')],
    ['a SAS URI on the cloud metadata address', () => sas('https://169.254.169.254')],
    ['a SAS URI whose host resolves to 192.168.1.10', () => sas('https://acct.blob.attacker.example')],
    ['a connection string whose BlobEndpoint resolves to loopback', () => connectionString(`https://loopback.attacker.example:${port}`)],
  ])('refuses %s with ADDRESS_NOT_ALLOWED in production, and nothing reaches it', async (_what, make) => {
    const before = connections;
    expect(await codeOf(make())).toBe('ADDRESS_NOT_ALLOWED');
    expect(connections).toBe(before);
  });

  it('lets local mode reach loopback (the local stack), and only loopback', async () => {
    const before = connections;
    // The listener closes at once: the attempt got through the guard and failed as a connection.
    expect(await codeOf(sftp('loopback.attacker.example'), true)).toBe('SOURCE_UNREACHABLE');
    expect(connections).toBeGreaterThan(before);
    expect(await codeOf(sftp('sftp.attacker.example'), true)).toBe('ADDRESS_NOT_ALLOWED');
  });
});
