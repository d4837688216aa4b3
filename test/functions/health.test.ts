import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';

/** The shortest probe interval, so a changed dependency shows within a test. */
const PROBE_SECONDS = 1;

describe('GET /health', () => {
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

  /** Asks until the answer has `status` (the cached probe must expire first), or 15 s pass. */
  async function healthUntil(status: number): Promise<{ status: number; body: unknown }> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const res = await fetch(`${runtime.url}/health`);
      const body: unknown = await res.json();
      if (res.status === status || Date.now() > deadline) return { status: res.status, body };
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  it('answers 200 when storage and the key vault both answer', async () => {
    const res = await healthUntil(200);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', dependencies: { storage: { status: 'up' }, keyVault: { status: 'up' } } });
  });

  it('answers 503 naming the key vault when it fails, with no reason in the answer and the reason in the log', async () => {
    stack.vault.injectFault({ kind: 'status', status: 503, count: 1_000, operations: ['list'] });
    try {
      const res = await healthUntil(503);
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ status: 'degraded', dependencies: { storage: { status: 'up' }, keyVault: { status: 'down' } } });
      const logged = await runtime.waitForLine((e) => e.msg === 'health probe found a dependency down');
      expect(logged.dependencies).toMatchObject({ storage: { status: 'up' }, keyVault: { status: 'down', reason: expect.any(String) as unknown } });
    } finally {
      stack.vault.clearFaults();
    }
    expect((await healthUntil(200)).status).toBe(200);
  });
});
