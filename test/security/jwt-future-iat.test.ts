import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_CLOCK_TOLERANCE_SECONDS } from '../../shared/auth/verify-token.js';
import { AUDIENCE, authHeaders, CLIENT_ID, harness, ISSUER, ORG, problemOf, request, type Harness } from '../api/support.js';

/**
 * Attack: a token whose `iat` lies in the future (an issuer's clock far ahead, or a token minted
 * ahead of time to be used later) was accepted, although the verifier's comment said `iat` was
 * checked: jose checks `iat` only when `maxTokenAge` is set. A token issued more than the clock
 * skew ahead of our clock is now refused like any other bad token: 401 UNAUTHENTICATED.
 */
describe('attack: a bearer token issued in the future', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
  });

  async function tokenIssuedAt(iat: number): Promise<string> {
    return new SignJWT({ client_id: CLIENT_ID, org: ORG })
      .setProtectedHeader({ alg: 'ES256', kid: 'es' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('service-account-1')
      .setIssuedAt(iat)
      .setExpirationTime(iat + 7200)
      .sign(h.keys.es256);
  }

  async function call(token: string) {
    const res = await h.api.handle(request({ headers: authHeaders(token) }), { route: 'test', auth: 'required' }, () =>
      Promise.resolve({ json: { ok: true } }),
    );
    return { res, problem: res.status >= 400 ? await problemOf(res.body) : undefined };
  }

  const now = () => Math.floor(Date.now() / 1000);

  it('refuses a token whose iat is an hour ahead with 401 UNAUTHENTICATED and error="invalid_token"', async () => {
    const { res, problem } = await call(await tokenIssuedAt(now() + 3600));
    expect(res.status).toBe(401);
    expect(problem?.code).toBe('UNAUTHENTICATED');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
  });

  it('refuses a token whose iat is just beyond the clock skew with UNAUTHENTICATED', async () => {
    const { res, problem } = await call(await tokenIssuedAt(now() + TOKEN_CLOCK_TOLERANCE_SECONDS + 30));
    expect(res.status).toBe(401);
    expect(problem?.code).toBe('UNAUTHENTICATED');
  });

  it('accepts a token whose iat is ahead by less than the clock skew', async () => {
    const { res } = await call(await tokenIssuedAt(now() + TOKEN_CLOCK_TOLERANCE_SECONDS - 30));
    expect(res.status).toBe(200);
  });

  it('accepts a token issued long ago that has not expired (iat bounds the future only)', async () => {
    const { res } = await call(await tokenIssuedAt(now() - 3600));
    expect(res.status).toBe(200);
  });
});
