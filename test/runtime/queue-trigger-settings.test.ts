import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readHostJson, type HostJson } from '../../local/runtime/host-json.js';
import { createPollingBackoff, normalizeQueueName, poisonQueueName } from '../../local/runtime/queue-trigger.js';
import { queuesOptions } from '../../local/runtime/queues-options.js';

describe('queuesOptions', () => {
  const consumption = { WEBSITE_SKU: 'Dynamic' };

  it('has the host defaults, with newBatchThreshold half a batch per processor (one on Consumption)', () => {
    const empty: HostJson = { get: () => undefined };
    expect(queuesOptions(empty, consumption)).toEqual({
      batchSize: 16,
      newBatchThreshold: 8,
      maxPollingIntervalMs: 60_000,
      maxDequeueCount: 5,
      visibilityTimeoutMs: 0,
      messageEncoding: 'base64',
    });
  });

  it('reads host.json TimeSpans and lets AzureFunctionsJobHost__ app settings override it, keys in any case', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cf-host-json-'));
    try {
      const hostJson = {
        version: '2.0',
        extensions: { queues: { batchSize: 8, maxPollingInterval: '00:00:02', visibilityTimeout: '00:00:30.5' } },
      };
      await writeFile(path.join(dir, 'host.json'), JSON.stringify(hostJson));
      const settings = {
        ...consumption,
        CIPHERFLOW_APP_ROOT: dir,
        AzureFunctionsJobHost__Extensions__Queues__BatchSize: '4',
      };
      expect(queuesOptions(await readHostJson(settings), settings)).toMatchObject({
        batchSize: 4,
        newBatchThreshold: 2,
        maxPollingIntervalMs: 2_000,
        visibilityTimeoutMs: 30_500,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses values the host refuses, naming the option', () => {
    const queues = (values: Record<string, unknown>): HostJson => ({
      get: (...keys) => (keys.join('.').startsWith('extensions.queues.') ? values[keys[2] ?? ''] : undefined),
    });
    expect(() => queuesOptions(queues({ batchSize: 33 }), consumption)).toThrow(/batchSize/);
    expect(() => queuesOptions(queues({ maxPollingInterval: '00:00:00.050' }), consumption)).toThrow(
      /maxPollingInterval/,
    );
    expect(() => queuesOptions(queues({ messageEncoding: 'utf8' }), consumption)).toThrow(/messageEncoding/);
  });
});

describe('createPollingBackoff', () => {
  it('waits the minimum after messages, grows by doubling increments while the queue stays empty, and stops at the cap', () => {
    const backoff = createPollingBackoff(100, 1_000, () => 0.5);
    expect([false, false, false, false, false, false].map((found) => backoff.next(found))).toEqual([
      100, 200, 300, 500, 900, 1_000,
    ]);
    expect(backoff.next(false)).toBe(1_000);
    expect(backoff.next(true)).toBe(100);
    expect(backoff.next(false)).toBe(200);
  });
});

describe('queue names', () => {
  it('lower-cases a name as the host does and refuses one the queue service would', () => {
    expect(normalizeQueueName('Landing-Events')).toBe('landing-events');
    expect(() => normalizeQueueName('a--b')).toThrow(/not a valid queue name/);
    expect(() => normalizeQueueName('-ab')).toThrow(/not a valid queue name/);
    expect(() => normalizeQueueName('ab')).toThrow(/not a valid queue name/);
  });

  it('has no poison queue for a poison queue or where the suffix would pass 63 characters', () => {
    expect(poisonQueueName('events')).toBe('events-poison');
    expect(poisonQueueName('events-poison')).toBeUndefined();
    expect(poisonQueueName('q'.repeat(60))).toBeUndefined();
  });
});
