import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../shared/config.js';

// The attack and its fix: export-links-host-header.test.ts, against the running app. Here the
// setting the links now come from, as the app reads it at start.

describe('PUBLIC_BASE_URL', () => {
  const base = { AzureWebJobsStorage: 'UseDevelopmentStorage=true', LandingStorage: 'UseDevelopmentStorage=true', SYSTEM_KEY_VAULT_URL: 'https://vault.example.net' };
  const production = { ...base, CIPHERFLOW_ENV: 'production' };
  const local = { ...base, CIPHERFLOW_ENV: 'local' };

  it('is required outside local mode, naming it', () => {
    expect(() => parseConfig(production)).toThrow(ConfigError);
    expect(() => parseConfig(production)).toThrow(/PUBLIC_BASE_URL/);
  });

  it('takes an https origin, or one with a path prefix, without its trailing slash', () => {
    expect(parseConfig({ ...production, PUBLIC_BASE_URL: 'https://api.example.com/' }).publicBaseUrl).toBe('https://api.example.com');
    expect(parseConfig({ ...production, PUBLIC_BASE_URL: 'https://gw.example.com/cipherflow/' }).publicBaseUrl).toBe('https://gw.example.com/cipherflow');
  });

  it.each(['http://api.example.com', 'api.example.com', 'https://user:pw@api.example.com', 'https://api.example.com/?x=1', 'https://api.example.com/#top', 'javascript:alert(1)'])(
    'refuses %s outside local mode',
    (value) => {
      expect(() => parseConfig({ ...production, PUBLIC_BASE_URL: value })).toThrow(/PUBLIC_BASE_URL/);
    },
  );

  it('is optional in local mode (links are relative then), and may be http there', () => {
    expect(parseConfig(local).publicBaseUrl).toBeUndefined();
    expect(parseConfig({ ...local, PUBLIC_BASE_URL: 'http://127.0.0.1:7071' }).publicBaseUrl).toBe('http://127.0.0.1:7071');
  });
});
