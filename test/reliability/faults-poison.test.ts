import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';
import { retryDelay } from '../../local/runtime/blob-trigger.js';
import { clientFor, expectExactlyOnce, poisonMessages, runsOf, setUpFlow, until, useFaultStack, waitForAll } from './faults-support.js';

const ORG = 'CF00P01S0N@AdobeOrg';
const MAX_ATTEMPTS = 5;

/**
 * A file that can never be processed for a reason that looks transient (its sandbox's root key
 * names a KEK version the vault does not have: KEK_NOT_FOUND on every unwrap, so the ingestion
 * throws and the trigger retries). It is tried exactly five times; the fifth failed attempt fails
 * its run with RETRIES_EXHAUSTED and the cause, where the customer sees it (`GET .../runs`), and it
 * is then left alone: no sixth attempt, no loop, nothing for the host's poison queue, the blob
 * kept; the files around it are not held up.
 */
describe('fault: a poison file', () => {
  const faults = useFaultStack({ env: { KEY_CACHE_TTL_SECONDS: '1', KEY_CACHE_MAX_STALE_SECONDS: '0' } });

  it('is retried a bounded number of times, reported on its run and never looped', { timeout: 90_000 }, async () => {
    const { stack, runtime, gpg, landing } = faults;
    const good = await setUpFlow(clientFor(runtime, ORG), gpg, 'good');
    const broken = await setUpFlow(clientFor(runtime, ORG, 'broken'), gpg, 'poison');
    // Break the `broken` sandbox's root key record: a KEK version that does not exist.
    const rootKeys = TableClient.fromConnectionString(stack.azurite.connectionString, 'rootkeys', { allowInsecureConnection: true });
    await rootKeys.updateEntity({ partitionKey: ORG, rowKey: 'broken', kekVersion: '0'.repeat(32) }, 'Merge');
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the cached root key expires

    const poisonName = `${ORG}/broken/poison/p.csv.gpg`;
    await landing.getBlockBlobClient(poisonName).uploadData(await gpg.encrypt('id\n1\n', broken.recipient));
    const goodFiles = new Map<string, string>();
    for (let i = 0; i < 5; i++) {
      const name = `good/g${i}.csv.gpg`;
      goodFiles.set(name, (await landing.getBlockBlobClient(`${ORG}/prod/${name}`).uploadData(await gpg.encrypt(`id\n${i}\n`, good.recipient))).etag ?? '');
    }

    const api = clientFor(runtime, ORG);
    await waitForAll(api, good.flowId, goodFiles, 30_000);
    await expectExactlyOnce(api, good, goodFiles);
    const brokenApi = clientFor(runtime, ORG, 'broken');
    const [run] = await until('the poison file\'s run to fail', async () => {
      const runs = await runsOf(brokenApi, broken.flowId);
      return runs.length === 1 && runs[0]?.status === 'failed' ? runs : undefined;
    }, 60_000);
    expect(run?.status).toBe('failed');
    expect(run?.errors.map((e) => e.code)).toEqual(['RETRIES_EXHAUSTED', 'KEK_NOT_FOUND']);
    expect(run?.errors[0]?.message).toContain(`${MAX_ATTEMPTS} attempts`);

    // Quiet afterwards: no further attempt however long we wait (several retry periods).
    const failedAttempts = () => runtime.lines.filter((l) => l.includes("Executed 'ingest-landing' (Failed")).length;
    const attempts = () => runtime.lines.filter((l) => l.includes('ingestion-attempt-failed')).length;
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect(attempts()).toBe(MAX_ATTEMPTS);
    // Four attempts threw for the host to retry; the fifth recorded the failure and returned.
    expect(failedAttempts()).toBe(MAX_ATTEMPTS - 1);
    expect(await poisonMessages(stack.azurite.connectionString)).toEqual([]);
    const hosts = BlobServiceClient.fromConnectionString(stack.azurite.connectionString).getContainerClient('azure-webjobs-hosts');
    const receipt = await until('the receipt', async () => {
      for await (const b of hosts.listBlobsFlat({ prefix: 'blobreceipts/', includeMetadata: true })) {
        if (b.name.endsWith(`/landing/${poisonName}`)) return b.metadata;
      }
      return undefined;
    });
    expect(receipt).toMatchObject({ State: 'Succeeded', DequeueCount: String(MAX_ATTEMPTS) });
    // The blob is kept for a person to look at.
    expect(await landing.getBlobClient(poisonName).exists()).toBe(true);
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
