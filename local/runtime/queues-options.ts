import os from 'node:os';
import { timeSpanMs, type HostJson } from './host-json.js';
import type { Settings } from './settings.js';

/** host.json `extensions.queues`, with the host's defaults (QueuesOptions in Microsoft.Azure.WebJobs.Extensions.Storage.Queues). */
export interface QueuesOptions {
  /** Messages fetched per poll, 1-32 (the service's limit); default 16. */
  readonly batchSize: number;
  /** In-flight count at or below which the next batch is fetched; default `batchSize / 2` per processor. */
  readonly newBatchThreshold: number;
  /** Longest wait between polls of an empty queue; default 1 minute, at least 100 ms. */
  readonly maxPollingIntervalMs: number;
  /** Attempts before a message goes to `{queue}-poison`; default 5. Blob triggers use it too. */
  readonly maxDequeueCount: number;
  /** How long a failed message stays invisible before its next attempt; default 0. */
  readonly visibilityTimeoutMs: number;
  /** How message text encodes the body; default `base64`. */
  readonly messageEncoding: 'base64' | 'none';
}

/** The host's QueuePollingIntervals.Minimum: the first wait after an empty poll, and the floor of maxPollingInterval. */
export const MIN_POLLING_INTERVAL_MS = 100;
const MAX_BATCH_SIZE = 32;

/**
 * Reads `extensions.queues` as the host binds it, rejecting out-of-range values at start as the
 * host's QueuesOptions setters do. The default newBatchThreshold is `floor(batchSize / 2)` times
 * the processor count, which the host takes as 1 on the Consumption plan (`WEBSITE_SKU=Dynamic`)
 * and as the machine's cores elsewhere (SkuUtility.ProcessorCount).
 *
 * @throws Error naming the option when a value is malformed or out of range.
 */
export function queuesOptions(hostJson: HostJson, settings: Settings): QueuesOptions {
  const read = (key: string): unknown => hostJson.get('extensions', 'queues', key);
  const batchSize = integer(read('batchSize'), 'batchSize', 16, 1, MAX_BATCH_SIZE);
  const dynamic = settings.WEBSITE_SKU?.toLowerCase() === 'dynamic';
  const processorCount = dynamic ? 1 : os.availableParallelism();
  const messageEncoding = read('messageEncoding') ?? 'base64';
  if (typeof messageEncoding !== 'string' || !['base64', 'none'].includes(messageEncoding.toLowerCase())) {
    throw new Error(
      `host.json extensions.queues.messageEncoding must be "base64" or "none" (got ${JSON.stringify(messageEncoding)}).`,
    );
  }
  return {
    batchSize,
    newBatchThreshold: integer(
      read('newBatchThreshold'),
      'newBatchThreshold',
      Math.floor(batchSize / 2) * processorCount,
      0,
    ),
    maxPollingIntervalMs: timeSpan(read('maxPollingInterval'), 'maxPollingInterval', 60_000, MIN_POLLING_INTERVAL_MS),
    maxDequeueCount: integer(read('maxDequeueCount'), 'maxDequeueCount', 5, 1),
    visibilityTimeoutMs: timeSpan(read('visibilityTimeout'), 'visibilityTimeout', 0, 0),
    messageEncoding: messageEncoding.toLowerCase() === 'none' ? 'none' : 'base64',
  };
}

function integer(value: unknown, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
    throw new Error(
      `host.json extensions.queues.${name} must be a whole number ${range} (got ${JSON.stringify(value)}).`,
    );
  }
  return n;
}

function timeSpan(value: unknown, name: string, fallback: number, minMs: number): number {
  if (value === undefined) return fallback;
  const ms = timeSpanMs(value);
  if (ms === undefined || ms < minMs) {
    throw new Error(
      `host.json extensions.queues.${name} must be a TimeSpan ("hh:mm:ss") of at least ${minMs} ms (got ${JSON.stringify(value)}).`,
    );
  }
  return ms;
}
