import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigPart } from '../../shared/config/app-config.js';
import { createAuthenticator } from '../../shared/auth/authenticate.js';
import { createTokenVerifier } from '../../shared/auth/verify-token.js';
import { issueDevToken, startDevIssuer } from '../../local/dev-issuer.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dev-issuer-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('development issuer', () => {
  it('refuses to start unless CIPHERFLOW_ENV=local', async () => {
    await expect(startDevIssuer({ port: 0, dir, env: {} })).rejects.toThrow(/DEV_ISSUER_NOT_LOCAL/);
  });

  it('mints tokens the local-mode verifier accepts through the served JWKS', async () => {
    const issuer = await startDevIssuer({ port: 0, dir, env: { CIPHERFLOW_ENV: 'local' } });
    try {
      const token = await issueDevToken({ org: ['ORG1@AdobeOrg', 'ORG2@AdobeOrg'], clientId: 'my-client', dir });
      const config = loadConfigPart('auth', { CIPHERFLOW_ENV: 'local', AUTH_JWKS_URL: issuer.jwksUrl });
      const authenticate = createAuthenticator(createTokenVerifier(config));
      const headers = new Headers({ authorization: `Bearer ${token}`, 'x-api-key': 'my-client', 'x-gw-ims-org-id': 'ORG2@AdobeOrg' });
      expect(await authenticate(headers)).toEqual({ orgId: 'ORG2@AdobeOrg', sandbox: 'prod', clientId: 'my-client', subject: 'my-client' });
      const jwks = (await (await fetch(issuer.jwksUrl)).json()) as { keys: { kid: string; d?: string }[] };
      expect(jwks.keys).toHaveLength(1);
      expect(jwks.keys[0]?.d).toBeUndefined();
    } finally {
      await issuer.close();
    }
  });

  it('creates the key once, private to the user, and reuses it', async () => {
    const a = decodeProtectedHeader(await issueDevToken({ org: 'O@AdobeOrg', dir }));
    const b = decodeProtectedHeader(await issueDevToken({ org: 'O@AdobeOrg', dir }));
    expect(a.kid).toBe(b.kid);
    expect(a.alg).toBe('ES256');
    expect((await stat(join(dir, 'private-key.pem'))).mode & 0o777).toBe(0o600);
  });

  it('uses the documented defaults and a one-hour lifetime', async () => {
    const claims = decodeJwt(await issueDevToken({ org: 'O@AdobeOrg', dir }));
    expect(claims).toMatchObject({ iss: 'cipherflow-dev-issuer', aud: 'cipherflow', client_id: 'cipherflow-dev-client', org: 'O@AdobeOrg' });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(3600);
  });

  it('refuses a lifetime beyond a day', async () => {
    await expect(issueDevToken({ org: 'O@AdobeOrg', ttlSeconds: 90_000, dir })).rejects.toThrow(RangeError);
  });
});
