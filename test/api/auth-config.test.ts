import { describe, expect, it } from 'vitest';
import { DEV_AUDIENCE, DEV_ISSUER, DEV_ISSUER_PORT, parseAuthConfig } from '../../shared/auth/auth-config.js';
import { ConfigError } from '../../shared/config.js';

const PRODUCTION = {
  AUTH_ISSUER: 'https://ims.example.com',
  AUTH_AUDIENCE: 'cipherflow',
  AUTH_JWKS_URL: 'https://ims.example.com/keys',
};

describe('auth settings', () => {
  it('reads a production configuration with default claim names', () => {
    expect(parseAuthConfig(PRODUCTION)).toEqual({
      issuer: 'https://ims.example.com',
      audience: 'cipherflow',
      jwksUrl: new URL('https://ims.example.com/keys'),
      clientIdClaim: 'client_id',
      orgClaim: 'org',
    });
  });

  it('takes the claim names from AUTH_CLIENT_ID_CLAIM and AUTH_ORG_CLAIM', () => {
    const c = parseAuthConfig({ ...PRODUCTION, AUTH_CLIENT_ID_CLAIM: 'azp', AUTH_ORG_CLAIM: 'orgs' });
    expect(c).toMatchObject({ clientIdClaim: 'azp', orgClaim: 'orgs' });
  });

  it('refuses to start in production without AUTH_JWKS_URL, naming it', () => {
    const { AUTH_JWKS_URL: _omit, ...rest } = PRODUCTION;
    expect(() => parseAuthConfig(rest)).toThrow(ConfigError);
    expect(() => parseAuthConfig(rest)).toThrow(/AUTH_JWKS_URL/);
  });

  it('refuses a plain-http JWKS URL outside local mode', () => {
    expect(() => parseAuthConfig({ ...PRODUCTION, AUTH_JWKS_URL: 'http://ims.example.com/keys' })).toThrow(/https/);
  });

  it('refuses the development issuer outside local mode', () => {
    expect(() => parseAuthConfig({ ...PRODUCTION, AUTH_ISSUER: DEV_ISSUER })).toThrow(/local mode/);
  });

  it('defaults to the development issuer on loopback in local mode', () => {
    expect(parseAuthConfig({ CIPHERFLOW_ENV: 'local' })).toMatchObject({
      issuer: DEV_ISSUER,
      audience: DEV_AUDIENCE,
      jwksUrl: new URL(`http://127.0.0.1:${DEV_ISSUER_PORT}/.well-known/jwks.json`),
    });
  });
});
