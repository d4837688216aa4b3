import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';

/** Long enough that the whole flood falls within one probe interval, even on a loaded machine. */
const PROBE_SECONDS = 120;

/**
 * Attack: anonymous `GET /health` asked the system Key Vault (and storage) on every request, so
 * one client without a token drove ~133 vault calls a second, spending the vault's request quota
 * that key unwrapping needs. Probes are now cached per instance for `HEALTH_PROBE_SECONDS`, and
 * concurrent requests share the one probe in flight: 100 concurrent and 100 sequential calls
 * cost the vault one `list` call.
 */
describe('attack: flooding anonymous /health to drive Key Vault calls', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  beforeAll(async () => {
    stack = await startLocalStack();
    runtime = await startRuntime({ ...stack.env, HEALTH_PROBE_SECONDS: String(PROBE_SECONDS) });
  });
  afterAll(async () => {
    await runtime.stop();
    await stack.stop();
  });

  it('costs the vault at most 2 calls for 100 concurrent and 100 sequential anonymous calls', { timeout: 120_000 }, async () => {
    stack.vault.resetRequestCounts();
    const started = performance.now();
    const statuses: number[] = [];
    const call = async () => {
      const res = await fetch(`${runtime.url}/health`);
      await res.arrayBuffer();
      statuses.push(res.status);
    };
    await Promise.all(Array.from({ length: 100 }, call));
    for (let i = 0; i < 100; i++) await call();
    const elapsedSeconds = (performance.now() - started) / 1000;
    // `list` is the health probe's call; no other code path lists the system vault's keys.
    const vaultCalls = stack.vault.requestCounts().list ?? 0;
    console.info(`health flood: ${statuses.length} calls in ${elapsedSeconds.toFixed(1)} s, ${vaultCalls} vault list calls`);
    expect(statuses).toHaveLength(200);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(elapsedSeconds).toBeLessThan(PROBE_SECONDS);
    expect(vaultCalls).toBeGreaterThanOrEqual(1);
    expect(vaultCalls).toBeLessThanOrEqual(2);
  });

  it('tells an anonymous caller up or down per dependency and nothing else', async () => {
    const res = await fetch(`${runtime.url}/health`);
    expect(await res.json()).toEqual({ status: 'ok', dependencies: { storage: { status: 'up' }, keyVault: { status: 'up' } } });
  });
});
