import { describe, expect, it } from 'vitest';
import { loadConfigPart } from '../../shared/config/app-config.js';
import { ConfigError } from '../../shared/config/config-error.js';
import { DEV_AUDIENCE, DEV_ISSUER, DEV_ISSUER_PORT } from '../../shared/config/defaults.js';

const PRODUCTION = {
  AUTH_ISSUER: 'https://ims.example.com',
  AUTH_AUDIENCE: 'cipherflow',
  AUTH_JWKS_URL: 'https://ims.example.com/keys',
};

describe('auth settings', () => {
  it('reads a production configuration with default claim names', () => {
    expect(loadConfigPart('auth', PRODUCTION)).toEqual({
      issuer: 'https://ims.example.com',
      audience: 'cipherflow',
      jwksUrl: new URL('https://ims.example.com/keys'),
      clientIdClaim: 'client_id',
      orgClaim: 'org',
    });
  });

  it('takes the claim names from AUTH_CLIENT_ID_CLAIM and AUTH_ORG_CLAIM', () => {
    const c = loadConfigPart('auth', { ...PRODUCTION, AUTH_CLIENT_ID_CLAIM: 'azp', AUTH_ORG_CLAIM: 'orgs' });
    expect(c).toMatchObject({ clientIdClaim: 'azp', orgClaim: 'orgs' });
  });

  it('refuses to start in production without AUTH_JWKS_URL, naming it', () => {
    const { AUTH_JWKS_URL: _omit, ...rest } = PRODUCTION;
    expect(() => loadConfigPart('auth', rest)).toThrow(ConfigError);
    expect(() => loadConfigPart('auth', rest)).toThrow(/AUTH_JWKS_URL/);
  });

  it('refuses a plain-http JWKS URL outside local mode', () => {
    expect(() => loadConfigPart('auth', { ...PRODUCTION, AUTH_JWKS_URL: 'http://ims.example.com/keys' })).toThrow(/https/);
  });

  it('refuses the development issuer outside local mode', () => {
    expect(() => loadConfigPart('auth', { ...PRODUCTION, AUTH_ISSUER: DEV_ISSUER })).toThrow(/local mode/);
  });

  it('defaults to the development issuer on loopback in local mode', () => {
    expect(loadConfigPart('auth', { CIPHERFLOW_ENV: 'local' })).toMatchObject({
      issuer: DEV_ISSUER,
      audience: DEV_AUDIENCE,
      jwksUrl: new URL(`http://127.0.0.1:${DEV_ISSUER_PORT}/.well-known/jwks.json`),
    });
  });
});
