import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig, loadConfigPart } from '../../shared/config/app-config.js';
import { ConfigError } from '../../shared/config/config-error.js';
import { DEV_ISSUER } from '../../shared/config/defaults.js';
import { SETTINGS, type SettingDeclaration } from '../../shared/config/settings.js';

const LOCAL = {
  CIPHERFLOW_ENV: 'local',
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  LandingStorage: 'UseDevelopmentStorage=true',
  SYSTEM_KEY_VAULT_URL: 'https://127.0.0.1:8443',
};

const PRODUCTION = {
  AzureWebJobsStorage__accountName: 'stapp',
  LandingStorage__accountName: 'stlanding',
  LANDING_ACCOUNT_RESOURCE_ID:
    '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stlanding',
  SYSTEM_KEY_VAULT_URL: 'https://kv.vault.azure.net',
  PUBLIC_BASE_URL: 'https://api.example.com',
  AUTH_ISSUER: 'https://ims.example.com',
  AUTH_AUDIENCE: 'cipherflow',
  AUTH_JWKS_URL: 'https://ims.example.com/keys',
  CMK_APP_CLIENT_ID: 'e463a445-c6ac-4ca2-b36a-b5146fcf6a52',
  CMK_APP_NAME: 'cf-cmk',
  CMK_APP_URI: 'https://cipherflow.example/cmk',
};

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('loadConfig accepted the configuration');
}

describe('loadConfig', () => {
  it('parses a local configuration, every optional setting at its default', () => {
    const config = loadConfig(LOCAL);
    expect(config).toMatchObject({
      environment: 'local',
      systemKeyName: 'cipherflow-system-kek',
      keyCache: { cacheTtlSeconds: 300, maxStaleSeconds: 3600 },
      auth: { issuer: DEV_ISSUER, clientIdClaim: 'client_id', orgClaim: 'org' },
      cmk: {
        appName: 'cipherflow-cmk-local',
        ownershipGraceDays: 30,
        operatorVaultUrls: [],
        unreachableGiveUpMinutes: 60,
      },
      triggers: { landingEventsQueue: 'landing-events', maxFileBytes: 1024 ** 3 },
      http: { rateLimitPerOrg: 200, requestBodyTimeoutSeconds: 60 },
      privateKeyPool: { maxWaiting: 8 },
      hpke: { keyLifetimeMs: 365 * 86_400_000 },
      logging: { level: 'info' },
    });
    expect(config.publicBaseUrl).toBeUndefined();
    expect(config.privateKeyPool.workers).toBeGreaterThanOrEqual(1);
  });

  it('parses a production configuration with what production requires', () => {
    const config = loadConfig(PRODUCTION);
    expect(config).toMatchObject({
      environment: 'production',
      publicBaseUrl: 'https://api.example.com',
      storage: { kind: 'identity', blobServiceUri: 'https://stapp.blob.core.windows.net' },
      auth: { issuer: 'https://ims.example.com' },
      cmk: { appName: 'cf-cmk' },
    });
  });

  it('names every bad setting at once, across every part of the configuration', () => {
    const err = configError({
      SYSTEM_KEY_VAULT_URL: 'http://kv.example.net',
      HEALTH_PROBE_SECONDS: '0',
      KEY_CACHE_TTL_SECONDS: 'soon',
      MAX_FILE_BYTES: '1e9',
      API_RATE_LIMIT_PER_ORG: 'many',
      PRIVATE_KEY_WORKERS: '0',
      HPKE_KEY_LIFETIME_DAYS: '7',
      LOG_LEVEL: 'verbose',
    });
    expect(err.message).toMatch(/^Invalid configuration: /);
    expect([...err.settings].sort()).toEqual(
      [
        'SYSTEM_KEY_VAULT_URL',
        'HEALTH_PROBE_SECONDS',
        'KEY_CACHE_TTL_SECONDS',
        'MAX_FILE_BYTES',
        'API_RATE_LIMIT_PER_ORG',
        'PRIVATE_KEY_WORKERS',
        'HPKE_KEY_LIFETIME_DAYS',
        'LOG_LEVEL',
        'PUBLIC_BASE_URL',
        'AUTH_ISSUER',
        'AUTH_AUDIENCE',
        'AUTH_JWKS_URL',
        'CMK_APP_CLIENT_ID',
        'CMK_APP_NAME',
        'CMK_APP_URI',
      ].sort(),
    );
    expect(err.message).toContain(
      'AUTH_ISSUER, AUTH_AUDIENCE, AUTH_JWKS_URL required outside local mode (CIPHERFLOW_ENV=local)',
    );
  });

  it('names the storage, the landing account and the system vault when none is set, with the rest of the problems', () => {
    const err = configError({ CIPHERFLOW_ENV: 'local', LOG_LEVEL: 'loud' });
    expect(err.settings).toEqual(
      expect.arrayContaining([
        'AzureWebJobsStorage',
        'AzureWebJobsStorage__accountName',
        'LandingStorage',
        'SYSTEM_KEY_VAULT_URL',
        'LOG_LEVEL',
      ]),
    );
  });

  it("refuses a landing connection string without the account key that signs the zones' SAS, at start", () => {
    const err = configError({
      ...LOCAL,
      LandingStorage: 'BlobEndpoint=https://landing.blob.core.windows.net/;SharedAccessSignature=sv=x',
    });
    expect(err.settings).toEqual(['LandingStorage']);
    expect(err.message).toMatch(/LandingStorage must name AccountName and AccountKey/);
  });

  it('reports a problem once though two parts read the setting', () => {
    const err = configError({ ...LOCAL, CMK_APP_CLIENT_ID: 'not-a-guid' });
    expect(err.problems).toHaveLength(1);
    expect(err.settings).toEqual(['CMK_APP_CLIENT_ID']);
  });

  it('answers a deeply frozen object', () => {
    const config = loadConfig({ ...LOCAL, CMK_OPERATOR_VAULT_URLS: 'https://ops.vault.azure.net' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.auth)).toBe(true);
    expect(Object.isFrozen(config.landing.storage)).toBe(true);
    expect(Object.isFrozen(config.cmk.operatorVaultUrls)).toBe(true);
    expect(() => {
      (config.http as { rateLimitPerOrg: number }).rateLimitPerOrg = 1;
    }).toThrow(TypeError);
  });

  it('takes a blank value as unset only for the settings declared so', () => {
    expect(loadConfigPart('http', { API_RATE_LIMIT_PER_ORG: '' }).rateLimitPerOrg).toBe(200);
    expect(loadConfigPart('cmk', { CIPHERFLOW_ENV: 'local', CMK_OWNERSHIP_GRACE_DAYS: ' ' }).ownershipGraceDays).toBe(
      30,
    );
    expect(() => loadConfigPart('triggers', { MAX_FILE_BYTES: '' })).toThrow(/MAX_FILE_BYTES/);
  });
});

describe('SETTINGS', () => {
  const declarations = Object.entries(SETTINGS) as [string, SettingDeclaration][];

  it.each(declarations)('%s: its default is a value its own parse accepts', (_name, declaration) => {
    for (const value of [declaration.default, declaration.localDefault]) {
      if (value !== undefined) expect(declaration.parse.safeParse(value).success, value).toBe(true);
    }
  });

  it('states each default one way only', () => {
    for (const [name, d] of declarations) {
      expect(
        [d.default, d.localDefault, d.computedDefault].filter((v) => v !== undefined).length,
        name,
      ).toBeLessThanOrEqual(1);
      // A required setting has no default; a local default makes it required outside local mode.
      if (d.required !== 'optional') expect(d.default, name).toBeUndefined();
      if (d.localDefault !== undefined) expect(d.required, name).toBe('production');
    }
  });
});

describe('appConfig', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('parses process.env once per process', async () => {
    for (const [name, value] of Object.entries(LOCAL)) vi.stubEnv(name, value);
    vi.resetModules();
    const { appConfig } = await import('../../shared/config/app-config.js');
    const first = appConfig();
    vi.stubEnv('LOG_LEVEL', 'not-a-level');
    expect(appConfig()).toBe(first);
  });
});
