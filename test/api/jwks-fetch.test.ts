import { createServer as createHttpServer, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigPart } from '../../shared/config/app-config.js';
import { jwksFetch, MAX_JWKS_BYTES } from '../../shared/auth/lib/jwks-fetch.js';
import { createTokenVerifier } from '../../shared/auth/verify-token.js';
import { ensureDevTls } from '../../local/dev-tls.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

async function serve(handler: RequestListener, tls = false): Promise<string> {
  const server = tls ? createHttpsServer({ key: (await ensureDevTls()).keyPem, cert: (await ensureDevTls()).certPem }, handler) : createHttpServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('the JWKS fetch over node:https', () => {
  it('lets the token verifier fetch the issuer key set over https and verify a token with it', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const seen: IncomingHttpHeaders[] = [];
    const base = await serve((req, res) => {
      seen.push(req.headers);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    }, true);
    const config = loadConfigPart('auth', {
      AUTH_JWKS_URL: `${base}/keys`,
      AUTH_ISSUER: 'https://issuer.test',
      AUTH_AUDIENCE: 'cipherflow',
    });
    const verify = createTokenVerifier(config);
    const token = await new SignJWT({ client_id: 'c1', org: 'ORG1@AdobeOrg' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(config.issuer)
      .setAudience(config.audience)
      .setSubject('svc')
      .setExpirationTime('5m')
      .sign(privateKey);
    const identity = await verify(`Bearer ${token}`);
    expect(identity.subject).toBe('svc');
    await verify(`Bearer ${token}`);
    expect(seen).toHaveLength(1); // cached by jose after the first fetch
    expect(seen[0]?.accept).toContain('application/jwk-set+json');
  });

  it('rejects with the timeout signal reason when the issuer does not answer', async () => {
    const base = await serve(() => undefined);
    const err = await jwksFetch(`${base}/keys`, { signal: AbortSignal.timeout(100) }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('TimeoutError');
  });

  it('rejects with the timeout signal reason when the issuer stops mid-body', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"keys":[');
    });
    const err = await jwksFetch(`${base}/keys`, { signal: AbortSignal.timeout(200) }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('TimeoutError');
  });

  it('does not follow a redirect: the 302 is returned for jose to refuse', async () => {
    let redirected = 0;
    const target = await serve((_req, res) => {
      redirected++;
      res.end('{"keys":[]}');
    });
    const base = await serve((_req, res) => {
      res.writeHead(302, { location: `${target}/keys` });
      res.end();
    });
    const res = await jwksFetch(`${base}/keys`, {});
    expect(res.status).toBe(302);
    expect(redirected).toBe(0);
  });

  it('refuses a key set larger than MAX_JWKS_BYTES', async () => {
    const base = await serve((_req, res) => {
      res.end(Buffer.alloc(MAX_JWKS_BYTES + 1, 0x20));
    });
    await expect(jwksFetch(`${base}/keys`, {})).rejects.toThrow(/larger than/);
  });

  it('refuses a URL that is neither http nor https', async () => {
    await expect(jwksFetch('ftp://127.0.0.1/keys', {})).rejects.toThrow(/scheme/);
  });
});
