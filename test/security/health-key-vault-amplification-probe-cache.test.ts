import type { KeyClient } from '@azure/keyvault-keys';
import type { BlobServiceClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';
import { loadConfigPart } from '../../shared/config/app-config.js';
import { ConfigError } from '../../shared/config/config-error.js';
import { cacheHealthCheck } from '../../shared/health/cached-health-check.js';
import { checkHealth } from '../../shared/health/check-health.js';
import { createLogger } from '../../shared/logging/logger.js';

// The attack and its fix: health-key-vault-amplification.test.ts, which floods the running app.
// Here the same property in process, with counting fakes, and the setting that bounds it.

describe('the probe cache behind /health, with counting fakes of storage and the vault', () => {
  const log = createLogger({ level: 'silent' });

  function fakeDependencies(options: { vaultDown?: boolean } = {}) {
    const counts = { storage: 0, vault: 0 };
    const release: (() => void)[] = [];
    const answer = () => new Promise<void>((resolve) => release.push(resolve));
    const getProperties = () => {
      counts.storage++;
      return answer();
    };
    const next = () => {
      counts.vault++;
      return options.vaultDown === true ? Promise.reject(Object.assign(new Error('down'), { code: 'ServiceUnavailable', statusCode: 503 })) : answer();
    };
    // Only the two calls a probe makes; the types are the SDK clients' own.
    const blobs = { getProperties } as unknown as BlobServiceClient;
    const vault = { listPropertiesOfKeys: () => ({ byPage: () => ({ next }) }) } as unknown as KeyClient;
    /** Lets every pending dependency call answer. */
    const answerAll = () => release.splice(0).forEach((r) => r());
    return { counts, answerAll, check: () => checkHealth({ blobs, vault, log }) };
  }

  function cached(deps: ReturnType<typeof fakeDependencies>, clock: { now: number }) {
    return cacheHealthCheck(() => deps.check(), { intervalMs: 10_000, now: () => clock.now });
  }

  it('probes once for 100 concurrent and 100 sequential calls within one interval', async () => {
    const deps = fakeDependencies();
    const clock = { now: 0 };
    const health = cached(deps, clock);
    const concurrent = Array.from({ length: 100 }, () => health(log));
    deps.answerAll();
    const reports = await Promise.all(concurrent);
    for (let i = 0; i < 100; i++) {
      clock.now += 99;
      reports.push(await health(log));
    }
    expect(deps.counts).toEqual({ storage: 1, vault: 1 });
    expect(reports.every((r) => r.status === 'ok')).toBe(true);
  });

  it('probes again once the interval has passed since the last probe started', async () => {
    const deps = fakeDependencies();
    const clock = { now: 0 };
    const health = cached(deps, clock);
    const first = health(log);
    deps.answerAll();
    await first;
    clock.now = 10_000;
    const second = health(log);
    deps.answerAll();
    await second;
    expect(deps.counts).toEqual({ storage: 2, vault: 2 });
  });

  it('starts no second probe while one is running, even past the interval', async () => {
    const deps = fakeDependencies();
    const clock = { now: 0 };
    const health = cached(deps, clock);
    const first = health(log);
    clock.now = 60_000;
    const late = health(log);
    expect(deps.counts).toEqual({ storage: 1, vault: 1 });
    deps.answerAll();
    expect(await late).toEqual(await first);
  });

  it('keeps a report of a vault that is down for the interval too, and says only "down"', async () => {
    const deps = fakeDependencies({ vaultDown: true });
    const clock = { now: 0 };
    const health = cached(deps, clock);
    const calls = Array.from({ length: 50 }, () => health(log));
    deps.answerAll();
    const reports = await Promise.all(calls);
    expect(deps.counts.vault).toBe(1);
    expect(reports[0]).toEqual({ status: 'degraded', dependencies: { storage: { status: 'up' }, keyVault: { status: 'down' } } });
  });
});

describe('HEALTH_PROBE_SECONDS', () => {
  const base = { CIPHERFLOW_ENV: 'local', AzureWebJobsStorage: 'UseDevelopmentStorage=true', LandingStorage: 'UseDevelopmentStorage=true', SYSTEM_KEY_VAULT_URL: 'https://127.0.0.1:8443' };

  it('defaults to 10 s and takes whole seconds up to an hour', () => {
    expect(loadConfigPart('core', base).healthProbeSeconds).toBe(10);
    expect(loadConfigPart('core', { ...base, HEALTH_PROBE_SECONDS: '60' }).healthProbeSeconds).toBe(60);
  });

  it.each(['0', '-1', '1.5', 'ten', '3601'])('refuses %s, naming the setting (0 would probe on every request again)', (value) => {
    expect(() => loadConfigPart('core', { ...base, HEALTH_PROBE_SECONDS: value })).toThrow(ConfigError);
    expect(() => loadConfigPart('core', { ...base, HEALTH_PROBE_SECONDS: value })).toThrow(/HEALTH_PROBE_SECONDS/);
  });
});
