import { describe, expect, it } from 'vitest';
import { loadConfigPart } from '../../shared/config/app-config.js';
import { ConfigError } from '../../shared/config/config-error.js';

// The attack and its fix: export-links-host-header.test.ts, against the running app. Here the
// setting the links now come from, as the app reads it at start.

describe('PUBLIC_BASE_URL', () => {
  const base = { AzureWebJobsStorage: 'UseDevelopmentStorage=true', LandingStorage: 'UseDevelopmentStorage=true', SYSTEM_KEY_VAULT_URL: 'https://vault.example.net' };
  const production = { ...base, CIPHERFLOW_ENV: 'production' };
  const local = { ...base, CIPHERFLOW_ENV: 'local' };

  it('is required outside local mode, naming it', () => {
    expect(() => loadConfigPart('core', production)).toThrow(ConfigError);
    expect(() => loadConfigPart('core', production)).toThrow(/PUBLIC_BASE_URL/);
  });

  it('takes an https origin, or one with a path prefix, without its trailing slash', () => {
    expect(loadConfigPart('core', { ...production, PUBLIC_BASE_URL: 'https://api.example.com/' }).publicBaseUrl).toBe('https://api.example.com');
    expect(loadConfigPart('core', { ...production, PUBLIC_BASE_URL: 'https://gw.example.com/cipherflow/' }).publicBaseUrl).toBe('https://gw.example.com/cipherflow');
  });

  it.each(['http://api.example.com', 'api.example.com', 'https://user:pw@api.example.com', 'https://api.example.com/?x=1', 'https://api.example.com/#top', 'javascript:alert(1)'])(
    'refuses %s outside local mode',
    (value) => {
      expect(() => loadConfigPart('core', { ...production, PUBLIC_BASE_URL: value })).toThrow(/PUBLIC_BASE_URL/);
    },
  );

  it('is optional in local mode (links are relative then), and may be http there', () => {
    expect(loadConfigPart('core', local).publicBaseUrl).toBeUndefined();
    expect(loadConfigPart('core', { ...local, PUBLIC_BASE_URL: 'http://127.0.0.1:7071' }).publicBaseUrl).toBe('http://127.0.0.1:7071');
  });
});
