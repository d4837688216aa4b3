import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfigPart } from '../../shared/config/app-config.js';
import { createAuthenticator } from '../../shared/auth/authenticate.js';
import { createTokenVerifier } from '../../shared/auth/verify-token.js';
import { createApiPipeline, type ApiPipeline } from '../../shared/http/pipeline.js';
import { AUTH_CONFIG, authHeaders, captureLogs, makeKeys, mint, problemOf, request, type TestKeys } from '../api/support.js';

/**
 * Attack: sandboxes were no authorization boundary. Tokens carried no sandbox claim, so a token
 * handed to a development sandbox's pipeline could send `x-sandbox-name: prod` and read or change
 * production data and the org-wide settings (CMK config, HPKE client keys and settings). With
 * `AUTH_SANDBOX_CLAIM` configured, a token works only in the sandboxes its claim names: any other
 * sandbox, and every sandbox for a token without the claim, is 403 FORBIDDEN_SANDBOX, so org-wide
 * settings (served only from `prod`) need a token that may use `prod`.
 */
describe('attack: a token for one sandbox used in another', () => {
  let keys: TestKeys;
  let confined: ApiPipeline;
  let unconfined: ApiPipeline;

  beforeAll(async () => {
    keys = await makeKeys();
    const pipeline = (sandboxClaim?: string) =>
      createApiPipeline({
        authenticate: createAuthenticator(
          createTokenVerifier({ ...AUTH_CONFIG, ...(sandboxClaim === undefined ? {} : { sandboxClaim }) }, { keys: keys.jwks }),
        ),
        logger: captureLogs().logger,
      });
    confined = pipeline('sandboxes');
    unconfined = pipeline();
  });

  async function call(api: ApiPipeline, claims: Record<string, unknown>, sandbox: string, orgWide = false) {
    const token = await mint(keys, { claims });
    const res = await api.handle(
      request({ headers: authHeaders(token, { 'x-sandbox-name': sandbox }) }),
      { route: 'test', auth: 'required', orgWide },
      ({ tenant }) => Promise.resolve({ json: { sandbox: tenant.sandbox } }),
    );
    return { status: res.status, code: res.status >= 400 ? (await problemOf(res.body)).code : undefined };
  }

  it('refuses a dev-only token in prod with 403 FORBIDDEN_SANDBOX', async () => {
    expect(await call(confined, { sandboxes: ['dev'] }, 'prod')).toEqual({ status: 403, code: 'FORBIDDEN_SANDBOX' });
  });

  it('refuses a dev-only token on an org-wide setting, whichever sandbox it names', async () => {
    expect(await call(confined, { sandboxes: 'dev' }, 'prod', true)).toEqual({ status: 403, code: 'FORBIDDEN_SANDBOX' });
    expect(await call(confined, { sandboxes: 'dev' }, 'dev', true)).toEqual({ status: 403, code: 'PRODUCTION_SANDBOX_REQUIRED' });
  });

  it('refuses a token without the claim in every sandbox with FORBIDDEN_SANDBOX', async () => {
    expect(await call(confined, {}, 'prod')).toEqual({ status: 403, code: 'FORBIDDEN_SANDBOX' });
    expect(await call(confined, {}, 'dev')).toEqual({ status: 403, code: 'FORBIDDEN_SANDBOX' });
  });

  it('refuses a malformed sandbox claim as a bad token (401 UNAUTHENTICATED)', async () => {
    expect(await call(confined, { sandboxes: [42] }, 'prod')).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
  });

  it('lets a token work in the sandboxes it names, and a prod token manage org-wide settings', async () => {
    expect(await call(confined, { sandboxes: ['dev', 'qa'] }, 'qa')).toEqual({ status: 200, code: undefined });
    expect(await call(confined, { sandboxes: 'prod' }, 'prod', true)).toEqual({ status: 200, code: undefined });
  });

  it('without AUTH_SANDBOX_CLAIM, behaves as before: any sandbox, claim or not', async () => {
    expect(await call(unconfined, {}, 'prod', true)).toEqual({ status: 200, code: undefined });
    expect(await call(unconfined, { sandboxes: ['dev'] }, 'prod')).toEqual({ status: 200, code: undefined });
  });

  it('reads the claim name from AUTH_SANDBOX_CLAIM, unset by default', () => {
    const local = { CIPHERFLOW_ENV: 'local' };
    expect(loadConfigPart('auth', local).sandboxClaim).toBeUndefined();
    expect(loadConfigPart('auth', { ...local, AUTH_SANDBOX_CLAIM: 'sandboxes' }).sandboxClaim).toBe('sandboxes');
    expect(() => loadConfigPart('auth', { ...local, AUTH_SANDBOX_CLAIM: 'bad claim' })).toThrow(/AUTH_SANDBOX_CLAIM/);
  });
});
