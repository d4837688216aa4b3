import { base64url, exportSPKI, importJWK, SignJWT } from 'jose';
import { describe, expect, it, beforeAll } from 'vitest';
import { loadConfigPart } from '../../shared/config/app-config.js';
import { createAuthenticator } from '../../shared/auth/authenticate.js';
import { createTokenVerifier } from '../../shared/auth/verify-token.js';
import { createApiPipeline } from '../../shared/http/pipeline.js';
import { AUDIENCE, AUTH_CONFIG, authHeaders, captureLogs, harness, ISSUER, mint, OTHER_ORG, ORG, problemOf, request, type Harness } from './support.js';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});

const ok = () => Promise.resolve({ json: { ok: true } });

async function call(headers: Record<string, string>) {
  let seen: unknown = undefined;
  const res = await h.api.handle(request({ headers }), { route: 'test', auth: 'required' }, (c) => {
    seen = c.tenant;
    return ok();
  });
  return { res, tenant: seen, problem: res.status >= 400 ? await problemOf(res.body) : undefined };
}

describe('bearer token', () => {
  it('accepts an ES256 token and yields the tenant from verified claims and headers', async () => {
    const { res, tenant } = await call(authHeaders(await mint(h.keys), { 'x-sandbox-name': 'dev-1' }));
    expect(res.status).toBe(200);
    expect(tenant).toEqual({ orgId: ORG, sandbox: 'dev-1', clientId: 'test-client', subject: 'service-account-1' });
  });

  it('accepts an RS256 token', async () => {
    const { res } = await call(authHeaders(await mint(h.keys, { alg: 'RS256' })));
    expect(res.status).toBe(200);
  });

  it('defaults the sandbox to prod when x-sandbox-name is absent', async () => {
    const headers = authHeaders(await mint(h.keys));
    delete headers['x-sandbox-name'];
    const { tenant } = await call(headers);
    expect(tenant).toMatchObject({ sandbox: 'prod' });
  });

  it('refuses a request without a token with UNAUTHENTICATED and a bare Bearer challenge', async () => {
    const { res, problem } = await call({ 'x-api-key': 'test-client', 'x-gw-ims-org-id': ORG });
    expect(res.status).toBe(401);
    expect(problem?.code).toBe('UNAUTHENTICATED');
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('treats a non-Bearer Authorization scheme as no token', async () => {
    const { res, problem } = await call(authHeaders('x', { authorization: 'Basic dXNlcjpwYXNz' }));
    expect(problem?.code).toBe('UNAUTHENTICATED');
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('refuses an expired token with UNAUTHENTICATED and error="invalid_token"', async () => {
    const token = await mint(h.keys, { expiresAt: Math.floor(Date.now() / 1000) - 120 });
    const { res, problem } = await call(authHeaders(token));
    expect(res.status).toBe(401);
    expect(problem?.code).toBe('UNAUTHENTICATED');
    expect(problem?.detail).toBe('The access token has expired');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
  });

  it('tolerates 60 s of clock skew on exp', async () => {
    const token = await mint(h.keys, { expiresAt: Math.floor(Date.now() / 1000) - 30 });
    expect((await call(authHeaders(token))).res.status).toBe(200);
  });

  it('refuses a token whose nbf is beyond the 60 s clock skew with UNAUTHENTICATED', async () => {
    const token = await mint(h.keys, { claims: { nbf: Math.floor(Date.now() / 1000) + 120 } });
    const { res, problem } = await call(authHeaders(token));
    expect(res.status).toBe(401);
    expect(problem?.code).toBe('UNAUTHENTICATED');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
  });

  it('tolerates 60 s of clock skew on nbf', async () => {
    const token = await mint(h.keys, { claims: { nbf: Math.floor(Date.now() / 1000) + 30 } });
    expect((await call(authHeaders(token))).res.status).toBe(200);
  });

  it('refuses a token for another audience with UNAUTHENTICATED', async () => {
    const { problem } = await call(authHeaders(await mint(h.keys, { audience: 'someone-else' })));
    expect(problem?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a token from another issuer with UNAUTHENTICATED', async () => {
    const { problem } = await call(authHeaders(await mint(h.keys, { issuer: 'https://evil.test/' })));
    expect(problem?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a token signed by an untrusted key under a trusted kid with UNAUTHENTICATED', async () => {
    const { problem } = await call(authHeaders(await mint(h.keys, { key: h.keys.stranger })));
    expect(problem?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses an unsigned alg "none" token with UNAUTHENTICATED', async () => {
    const now = Math.floor(Date.now() / 1000);
    const enc = (v: unknown) => base64url.encode(JSON.stringify(v));
    const token = `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ iss: AUTH_CONFIG.issuer, aud: AUTH_CONFIG.audience, sub: 's', client_id: 'test-client', org: ORG, exp: now + 600 })}.`;
    const { res, problem } = await call(authHeaders(token));
    expect(res.status).toBe(401);
    expect(problem?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses an HS256 token keyed with the public key bytes, even if a key resolver hands those bytes out', async () => {
    const publicKey = await importJWK(h.keys.es256PublicJwk, 'ES256', { extractable: true });
    if (!('type' in publicKey)) throw new Error('expected a CryptoKey');
    const spki = new TextEncoder().encode(await exportSPKI(publicKey));
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ client_id: 'test-client', org: ORG })
      .setProtectedHeader({ alg: 'HS256', kid: 'es' })
      .setIssuer(AUTH_CONFIG.issuer).setAudience(AUTH_CONFIG.audience).setSubject('s').setExpirationTime(now + 600)
      .sign(spki);
    // The classic confusion: a resolver that returns "the key bytes" whatever the header says.
    const naive = createApiPipeline({
      authenticate: createAuthenticator(createTokenVerifier(AUTH_CONFIG, { keys: () => Promise.resolve(spki) })),
      logger: captureLogs().logger,
    });
    for (const api of [h.api, naive]) {
      const res = await api.handle(request({ headers: authHeaders(forged) }), { route: 't', auth: 'required' }, ok);
      expect(res.status).toBe(401);
      expect((await problemOf(res.body)).code).toBe('UNAUTHENTICATED');
    }
  });

  it('refuses a token without the client id claim with UNAUTHENTICATED', async () => {
    const { problem } = await call(authHeaders(await mint(h.keys, { claims: { client_id: undefined } })));
    expect(problem?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a garbage bearer value with UNAUTHENTICATED', async () => {
    const { problem } = await call(authHeaders('not-a-jwt'));
    expect(problem?.code).toBe('UNAUTHENTICATED');
  });

  it('reports an unreachable key set as AUTH_UNAVAILABLE (503), not as the caller\'s fault', async () => {
    const logs = captureLogs();
    const api = createApiPipeline({
      authenticate: createAuthenticator(createTokenVerifier(AUTH_CONFIG, { keys: () => Promise.reject(new TypeError('fetch failed')) })),
      logger: logs.logger,
    });
    const res = await api.handle(request({ headers: authHeaders(await mint(h.keys)) }), { route: 't', auth: 'required' }, ok);
    expect(res.status).toBe(503);
    expect((await problemOf(res.body)).code).toBe('AUTH_UNAVAILABLE');
  });
});

describe('api key', () => {
  it('refuses an x-api-key that differs from the token client with 401 INVALID_API_KEY and a Bearer challenge', async () => {
    const { res, problem } = await call(authHeaders(await mint(h.keys), { 'x-api-key': 'other-client' }));
    expect(res.status).toBe(401);
    expect(problem?.code).toBe('INVALID_API_KEY');
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('refuses a missing x-api-key with 401 INVALID_API_KEY and a Bearer challenge', async () => {
    const headers = authHeaders(await mint(h.keys));
    delete headers['x-api-key'];
    const { res, problem } = await call(headers);
    expect(res.status).toBe(401);
    expect(problem?.code).toBe('INVALID_API_KEY');
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('checks the token before the api key, so an anonymous caller learns nothing about keys', async () => {
    const { problem } = await call({ 'x-api-key': 'other-client', 'x-gw-ims-org-id': ORG });
    expect(problem?.code).toBe('UNAUTHENTICATED');
  });
});

describe('organization and sandbox', () => {
  it('refuses an org the token (string claim) does not grant with FORBIDDEN_ORG (403)', async () => {
    const { res, problem } = await call(authHeaders(await mint(h.keys), { 'x-gw-ims-org-id': OTHER_ORG }));
    expect(res.status).toBe(403);
    expect(problem?.code).toBe('FORBIDDEN_ORG');
  });

  it('accepts any org of a list claim and refuses one outside it with FORBIDDEN_ORG', async () => {
    const token = await mint(h.keys, { claims: { org: ['ZZZ@AdobeOrg', ORG] } });
    expect((await call(authHeaders(token))).res.status).toBe(200);
    expect((await call(authHeaders(token, { 'x-gw-ims-org-id': OTHER_ORG }))).problem?.code).toBe('FORBIDDEN_ORG');
  });

  it('refuses a missing x-gw-ims-org-id with INVALID_REQUEST naming the header', async () => {
    const headers = authHeaders(await mint(h.keys));
    delete headers['x-gw-ims-org-id'];
    const { res, problem } = await call(headers);
    expect(res.status).toBe(400);
    expect(problem?.code).toBe('INVALID_REQUEST');
    expect(problem?.errors).toEqual([{ field: 'headers.x-gw-ims-org-id', message: 'Required' }]);
  });

  it.each(['PROD', 'a_b', 'a'.repeat(65), '', '../x'])('refuses sandbox name %j with INVALID_REQUEST', async (name) => {
    const { res, problem } = await call(authHeaders(await mint(h.keys), { 'x-sandbox-name': name }));
    expect(res.status).toBe(400);
    expect(problem?.code).toBe('INVALID_REQUEST');
    expect((problem?.errors as { field: string }[])[0]?.field).toBe('headers.x-sandbox-name');
  });
});

describe('configured claim names', () => {
  // The claim names as an operator sets them: AUTH_CLIENT_ID_CLAIM and AUTH_ORG_CLAIM.
  const config = loadConfigPart('auth', {
    AUTH_ISSUER: ISSUER,
    AUTH_AUDIENCE: AUDIENCE,
    AUTH_JWKS_URL: AUTH_CONFIG.jwksUrl.href,
    AUTH_CLIENT_ID_CLAIM: 'azp',
    AUTH_ORG_CLAIM: 'https://ims.example/orgs',
  });
  const custom = { client_id: undefined, org: undefined, azp: 'custom-client', 'https://ims.example/orgs': ['ZZZ@AdobeOrg', ORG] };

  async function callCustom(headers: Record<string, string>) {
    const api = createApiPipeline({
      authenticate: createAuthenticator(createTokenVerifier(config, { keys: h.keys.jwks })),
      logger: captureLogs().logger,
    });
    let seen: unknown = undefined;
    const res = await api.handle(request({ headers }), { route: 't', auth: 'required' }, (c) => {
      seen = c.tenant;
      return ok();
    });
    return { res, tenant: seen, problem: res.status >= 400 ? await problemOf(res.body) : undefined };
  }

  it('takes the client id and the orgs from the configured claims', async () => {
    const token = await mint(h.keys, { claims: custom });
    const { res, tenant } = await callCustom(authHeaders(token, { 'x-api-key': 'custom-client' }));
    expect(res.status).toBe(200);
    expect(tenant).toMatchObject({ orgId: ORG, clientId: 'custom-client' });
  });

  it('checks x-api-key and the org against the configured claims, not the default ones', async () => {
    const token = await mint(h.keys, { claims: { ...custom, client_id: 'test-client', org: OTHER_ORG } });
    expect((await callCustom(authHeaders(token))).problem?.code).toBe('INVALID_API_KEY');
    expect((await callCustom(authHeaders(token, { 'x-api-key': 'custom-client', 'x-gw-ims-org-id': OTHER_ORG }))).problem?.code).toBe('FORBIDDEN_ORG');
  });

  it('refuses a token that carries only the default claim names with UNAUTHENTICATED', async () => {
    const { res, problem } = await callCustom(authHeaders(await mint(h.keys)));
    expect(res.status).toBe(401);
    expect(problem?.code).toBe('UNAUTHENTICATED');
  });
});
