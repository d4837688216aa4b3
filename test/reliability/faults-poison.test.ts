import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retryDelay } from '../../local/runtime/blob-trigger.js';
import { ensureGpg, GpgHome } from '../support/gpg.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import {
  clientFor,
  expectExactlyOnce,
  FAST_TRIGGERS,
  landingContainer,
  poisonMessages,
  runsOf,
  setUpFlow,
  until,
  waitForAll,
} from './faults-support.js';

const ORG = 'CF00P01S0N@AdobeOrg';
const MAX_ATTEMPTS = 5;

/**
 * A file that can never be processed for a reason that looks transient (its sandbox's root key
 * names a KEK version the vault does not have: KEK_NOT_FOUND on every unwrap, so the ingestion
 * throws and the trigger retries). It is tried exactly five times, reported once on
 * `webjobs-blobtrigger-poison` and in the log, and then left alone; the files around it are not held up.
 */
describe('fault: a poison file', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let gpg: GpgHome;

  beforeAll(async () => {
    ensureGpg();
    stack = await startLocalStack();
    runtime = await startRuntime({ ...stack.env, ...FAST_TRIGGERS, KEY_CACHE_TTL_SECONDS: '1', KEY_CACHE_MAX_STALE_SECONDS: '0' });
    gpg = await GpgHome.create();
    await landingContainer(stack.azurite.connectionString).createIfNotExists();
  });
  afterAll(async () => {
    await runtime?.stop();
    await stack?.stop();
    await gpg?.dispose();
  });

  it('is retried a bounded number of times, reported once and never looped', { timeout: 90_000 }, async () => {
    const good = await setUpFlow(clientFor(runtime, ORG), gpg, 'good');
    const broken = await setUpFlow(clientFor(runtime, ORG, 'broken'), gpg, 'poison');
    // Break the `broken` sandbox's root key record: a KEK version that does not exist.
    const rootKeys = TableClient.fromConnectionString(stack.azurite.connectionString, 'rootkeys', { allowInsecureConnection: true });
    await rootKeys.updateEntity({ partitionKey: ORG, rowKey: 'broken', kekVersion: '0'.repeat(32) }, 'Merge');
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the cached root key expires

    const landing = landingContainer(stack.azurite.connectionString);
    const poisonName = `${ORG}/broken/poison/p.csv.gpg`;
    const poisonEtag = (await landing.getBlockBlobClient(poisonName).uploadData(await gpg.encrypt('id\n1\n', broken.recipient))).etag ?? '';
    const goodFiles = new Map<string, string>();
    for (let i = 0; i < 5; i++) {
      const name = `good/g${i}.csv.gpg`;
      goodFiles.set(name, (await landing.getBlockBlobClient(`${ORG}/prod/${name}`).uploadData(await gpg.encrypt(`id\n${i}\n`, good.recipient))).etag ?? '');
    }

    const api = clientFor(runtime, ORG);
    await waitForAll(api, good.flowId, goodFiles, 30_000);
    await expectExactlyOnce(api, good, goodFiles);
    await runtime.waitForLine((e) => e.event === 'blob-poisoned' && e.blobName === poisonName, 60_000);

    // Quiet afterwards: no further attempt however long we wait (several retry periods).
    const attempts = () => runtime.lines.filter((l) => l.includes("Executed 'ingest-landing' (Failed")).length;
    const afterPoison = attempts();
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect(attempts()).toBe(afterPoison);
    expect(afterPoison).toBe(MAX_ATTEMPTS);

    const poison = await poisonMessages(stack.azurite.connectionString);
    expect(poison).toEqual([expect.objectContaining({ BlobName: poisonName, ETag: poisonEtag })]);
    const hosts = BlobServiceClient.fromConnectionString(stack.azurite.connectionString).getContainerClient('azure-webjobs-hosts');
    const receipt = await until('the receipt', async () => {
      for await (const b of hosts.listBlobsFlat({ prefix: 'blobreceipts/', includeMetadata: true })) {
        if (b.name.endsWith(`/landing/${poisonName}`)) return b.metadata;
      }
      return undefined;
    });
    expect(receipt).toMatchObject({ State: 'Poisoned', DequeueCount: String(MAX_ATTEMPTS) });
    expect(receipt).not.toHaveProperty('Incomplete');
    // The blob is kept for a person to look at; its run says it never finished.
    expect(await landing.getBlobClient(poisonName).exists()).toBe(true);
    const brokenRuns = await runsOf(clientFor(runtime, ORG, 'broken'), broken.flowId).catch(() => []);
    expect(brokenRuns.every((r) => r.status === 'inProgress')).toBe(true);
  });
});

describe('blob trigger retry delay', () => {
  it('doubles per failed attempt, capped, with 50-100 % jitter', () => {
    expect([1, 2, 3, 4].map((n) => retryDelay(1_000, n, () => 1))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect([1, 2, 3, 4].map((n) => retryDelay(1_000, n, () => 0))).toEqual([500, 1_000, 2_000, 4_000]);
    expect(retryDelay(3_000, 30, () => 1)).toBe(5 * 60_000);
    expect(retryDelay(0, 3)).toBe(0);
  });
});
