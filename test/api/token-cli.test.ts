import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigPart } from '../../shared/config/app-config.js';
import { createAuthenticator } from '../../shared/auth/authenticate.js';
import { createTokenVerifier } from '../../shared/auth/verify-token.js';
import { startDevIssuer, type DevIssuer } from '../../local/dev-issuer.js';
import { repoRoot } from '../support/runtime-process.js';

const run = promisify(execFile);

/** Runs `npm run --silent token -- <args>` from the repository, as the README tells a developer to. */
async function npmToken(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run('npm', ['run', '--silent', 'token', '--', ...args], { cwd: repoRoot });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: typeof e.code === 'number' ? e.code : -1 };
  }
}

/**
 * `npm run token` (the built local/token-cli.ts) against a running development issuer: the token
 * it prints verifies through the issuer's served JWKS, with the org and client id asked for.
 */
describe('npm run token', () => {
  let issuer: DevIssuer;
  beforeAll(async () => {
    issuer = await startDevIssuer({ port: 0, env: { CIPHERFLOW_ENV: 'local' } });
  });
  afterAll(async () => {
    await issuer.close();
  });

  function authenticate(token: string, headers: Record<string, string>) {
    const config = loadConfigPart('auth', { CIPHERFLOW_ENV: 'local', AUTH_JWKS_URL: issuer.jwksUrl });
    return createAuthenticator(createTokenVerifier(config))(
      new Headers({ authorization: `Bearer ${token}`, ...headers }),
    );
  }

  it("prints a token for --org and --client-id that the running issuer's keys verify", async () => {
    const { stdout, code } = await npmToken(['--org', 'CLI0001@AdobeOrg', '--client-id', 'cli-client']);
    expect(code).toBe(0);
    const token = stdout.trim();
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(decodeJwt(token)).toMatchObject({
      org: 'CLI0001@AdobeOrg',
      client_id: 'cli-client',
      iss: 'cipherflow-dev-issuer',
      aud: 'cipherflow',
    });
    await expect(
      authenticate(token, { 'x-api-key': 'cli-client', 'x-gw-ims-org-id': 'CLI0001@AdobeOrg' }),
    ).resolves.toMatchObject({
      orgId: 'CLI0001@AdobeOrg',
      clientId: 'cli-client',
      sandbox: 'prod',
    });
  });

  it('defaults the client id to the development client and grants every --org given', async () => {
    const { stdout, code } = await npmToken(['--org', 'CLI0001@AdobeOrg', '--org', 'CLI0002@AdobeOrg']);
    expect(code).toBe(0);
    const token = stdout.trim();
    expect(decodeJwt(token)).toMatchObject({
      org: ['CLI0001@AdobeOrg', 'CLI0002@AdobeOrg'],
      client_id: 'cipherflow-dev-client',
    });
    await expect(
      authenticate(token, { 'x-api-key': 'cipherflow-dev-client', 'x-gw-ims-org-id': 'CLI0002@AdobeOrg' }),
    ).resolves.toMatchObject({ orgId: 'CLI0002@AdobeOrg' });
  });

  it('confines the token to every --sandbox given, as claim sandboxes', async () => {
    const { stdout, code } = await npmToken(['--org', 'CLI0001@AdobeOrg', '--sandbox', 'dev', '--sandbox', 'qa']);
    expect(code).toBe(0);
    expect(decodeJwt(stdout.trim())).toMatchObject({ org: 'CLI0001@AdobeOrg', sandboxes: ['dev', 'qa'] });
  });

  it('refuses to run without --org, printing the usage and no token', async () => {
    const { stdout, stderr, code } = await npmToken(['--client-id', 'cli-client']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/--org is required[\s\S]*usage: token --org ORG/);
  });
});
