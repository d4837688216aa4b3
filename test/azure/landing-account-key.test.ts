import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevTls } from '../../local/dev-tls.js';
import { armAccountKey } from '../../shared/azure/landing-account-key.js';

const ACCOUNT = '/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stdlzabc';

/** The landing account's signing key, read at run time with ARM listKeys (a local HTTPS stand-in for ARM). */
describe('the landing account key from ARM listKeys', () => {
  let server: Server;
  let endpoint: string;
  const calls: { method: string; url: string; authorization: string | undefined }[] = [];
  let answer: { status: number; body: string } = { status: 200, body: '' };

  beforeAll(async () => {
    const tls = await ensureDevTls();
    server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
      calls.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const scopes: string[] = [];
  const credential: TokenCredential = {
    getToken: (scope) => {
      scopes.push(...(Array.isArray(scope) ? scope : [scope]));
      return Promise.resolve<AccessToken>({ token: 'arm-token', expiresOnTimestamp: Date.now() + 3_600_000 });
    },
  };
  const keys = (key1: string) => JSON.stringify({ keys: [{ keyName: 'key2', value: 'second' }, { keyName: 'key1', value: key1, permissions: 'FULL' }] });

  it('POSTs listKeys on the account as the managed identity, signs with key1, and caches it for 5 minutes', async () => {
    let clock = 1_000_000;
    answer = { status: 200, body: keys('first-key1') };
    const key = armAccountKey(credential, ACCOUNT, { endpoint, now: () => clock });
    expect(await Promise.all([key(), key()])).toEqual(['first-key1', 'first-key1']);
    expect(calls).toEqual([{ method: 'POST', url: `${ACCOUNT}/listKeys?api-version=2023-05-01`, authorization: 'Bearer arm-token' }]);
    expect(scopes).toEqual(['https://management.azure.com/.default']);

    // Rotated: picked up once the cache lapses, not before.
    answer = { status: 200, body: keys('rotated-key1') };
    clock += 4 * 60_000;
    expect(await key()).toBe('first-key1');
    clock += 2 * 60_000;
    expect(await key()).toBe('rotated-key1');
    expect(calls).toHaveLength(2);
  });

  it('fails without caching when ARM refuses or answers no key1', async () => {
    const key = armAccountKey(credential, ACCOUNT, { endpoint });
    answer = { status: 403, body: '{"error":{"code":"AuthorizationFailed"}}' };
    await expect(key()).rejects.toThrow(/403/);
    answer = { status: 200, body: JSON.stringify({ keys: [{ keyName: 'key2', value: 'x' }] }) };
    await expect(key()).rejects.toThrow(/key1/);
    answer = { status: 200, body: keys('now-it-works') };
    expect(await key()).toBe('now-it-works');
  });
});
