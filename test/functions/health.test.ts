import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';

describe('GET /health', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  beforeAll(async () => {
    stack = await startLocalStack();
    runtime = await startRuntime(stack.env);
  });
  afterAll(async () => {
    await runtime.stop();
    await stack.stop();
  });

  it('answers 200 when storage and the key vault both answer', async () => {
    const res = await fetch(`${runtime.url}/health`);
    const body = (await res.json()) as { status: string; dependencies: Record<string, { status: string }> };
    expect(res.status).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.dependencies.storage?.status).toBe('up');
    expect(body.dependencies.keyVault?.status).toBe('up');
  });

  it('answers 503 naming the key vault when it fails', async () => {
    stack.vault.injectFault({ kind: 'status', status: 503, count: 10 });
    const res = await fetch(`${runtime.url}/health`);
    const body = (await res.json()) as { status: string; dependencies: Record<string, { status: string }> };
    expect(res.status).toBe(503);
    expect(body.status).toBe('degraded');
    expect(body.dependencies.storage?.status).toBe('up');
    expect(body.dependencies.keyVault?.status).toBe('down');
    stack.vault.clearFaults();
  });
});
