import { TableClient } from '@azure/data-tables';
import { BlobServiceClient, RestError } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';
import {
  clientFor,
  deliveries,
  eventsQueueDepth,
  expectExactlyOnce,
  MAX_DEQUEUE_COUNT,
  poisonedEvents,
  runsOf,
  runtimeEvents,
  setUpFlow,
  until,
  useFaultStack,
  waitForAll,
  type Delivery,
} from './faults-support.js';

const ORG = 'CF00P01S0N@AdobeOrg';
const LOCKED_OUT = 'CF00P01S0L@AdobeOrg';
/** Several retry periods (300 ms here) and polls: long enough for a loop to show. */
const QUIET_MS = 5_000;

/** The deliveries of the messages any of whose deliveries satisfy `mine`, by dequeue count. */
function deliveriesOf(all: readonly Delivery[], mine: (d: Delivery) => boolean): Delivery[] {
  const ids = new Set(all.filter(mine).map((d) => d.messageId));
  return all.filter((d) => ids.has(d.messageId)).sort((a, b) => a.dequeueCount - b.dequeueCount);
}

describe('fault: a poison file', () => {
  const faults = useFaultStack({ env: { KEY_CACHE_TTL_SECONDS: '1', KEY_CACHE_MAX_STALE_SECONDS: '0' } });

  /**
   * A file that can never be processed for a reason that looks transient (its sandbox's root key
   * names a KEK version the vault does not have: KEK_NOT_FOUND on every unwrap, so the ingestion
   * throws and the queue trigger delivers the event again). The ingestion counts attempts on the
   * run: the fifth failed one fails the run with RETRIES_EXHAUSTED and the cause, where the
   * customer sees it (`GET .../runs`), and returns, so the message is deleted rather than sent to
   * the poison queue where no customer would see it. No sixth attempt, no loop, the blob kept, and
   * the files around it are not held up.
   */
  it('fails its run with RETRIES_EXHAUSTED on the fifth attempt and leaves nothing to poison or loop', { timeout: 90_000 }, async () => {
    const { stack, runtime, gpg } = faults;
    const good = await setUpFlow(clientFor(runtime, ORG), gpg, 'good');
    const goodZone = await faults.zone(ORG);
    const brokenZone = await faults.zone(ORG, 'broken');
    const broken = await setUpFlow(clientFor(runtime, ORG, 'broken'), gpg, 'poison');
    // Break the `broken` sandbox's root key record: a KEK version that does not exist.
    const rootKeys = TableClient.fromConnectionString(stack.azurite.connectionString, 'rootkeys', { allowInsecureConnection: true });
    await rootKeys.updateEntity({ partitionKey: ORG, rowKey: 'broken', kekVersion: '0'.repeat(32) }, 'Merge');
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the cached root key expires

    const poisonName = 'poison/p.csv.gpg';
    const poisonEtag = (await brokenZone.getBlockBlobClient(poisonName).uploadData(await gpg.encrypt('id\n1\n', broken.recipient))).etag ?? '';
    const goodFiles = new Map<string, string>();
    for (let i = 0; i < 5; i++) {
      const name = `good/g${i}.csv.gpg`;
      goodFiles.set(name, (await goodZone.getBlockBlobClient(name).uploadData(await gpg.encrypt(`id\n${i}\n`, good.recipient))).etag ?? '');
    }

    const api = clientFor(runtime, ORG);
    await waitForAll(api, good.flowId, goodFiles, 30_000);
    await expectExactlyOnce(api, good, goodFiles);
    const brokenApi = clientFor(runtime, ORG, 'broken');
    const [run] = await until("the poison file's run to fail", async () => {
      const runs = await runsOf(brokenApi, broken.flowId);
      return runs.length === 1 && runs[0]?.status === 'failed' ? runs : undefined;
    }, 60_000);
    expect(run).toMatchObject({ fileName: poisonName, blobETag: poisonEtag, status: 'failed' });
    expect(run?.errors.map((e) => e.code)).toEqual(['RETRIES_EXHAUSTED', 'KEK_NOT_FOUND']);
    expect(run?.errors[0]?.message).toContain(`${MAX_DEQUEUE_COUNT} attempts`);
    expect(run?.batchId).toBeUndefined();

    // Quiet afterwards: no further delivery however long we wait (many retry periods).
    await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
    const poison = deliveriesOf(deliveries(runtime), (d) => d.events.some((e) => e.flowId === broken.flowId));
    // One message, delivered exactly maxDequeueCount times: four threw for the host to deliver it
    // again, the fifth recorded the failure on the run and returned, so the host deleted it.
    expect(new Set(poison.map((d) => d.messageId)).size).toBe(1);
    expect(poison.map((d) => [d.dequeueCount, d.outcome])).toEqual([
      ...Array.from({ length: MAX_DEQUEUE_COUNT - 1 }, (_, i) => [i + 1, 'Failed']),
      [MAX_DEQUEUE_COUNT, 'Succeeded'],
    ]);
    expect(poison.map((d) => d.events.find((e) => e.event === 'ingestion-attempt-failed')?.attempt)).toEqual(
      Array.from({ length: MAX_DEQUEUE_COUNT }, (_, i) => i + 1),
    );
    expect(poison.at(-1)?.events).toContainEqual(expect.objectContaining({ event: 'ingestion-failed', code: 'RETRIES_EXHAUSTED', cause: 'KEK_NOT_FOUND' }));
    // The good files: one delivery each, not held up behind the poison file's retries.
    const others = deliveries(runtime).filter((d) => d.messageId !== poison[0]?.messageId);
    expect(others.map((d) => [d.dequeueCount, d.outcome])).toEqual(Array.from({ length: goodFiles.size }, () => [1, 'Succeeded']));
    // Nothing for the poison queue, nothing left on the events queue.
    expect(runtimeEvents(runtime, 'queue-poisoned')).toEqual([]);
    expect(await poisonedEvents(stack.azurite.connectionString)).toEqual([]);
    expect(await eventsQueueDepth(stack.azurite.connectionString)).toBe(0);
    // The blob is kept for a person to look at.
    expect(await brokenZone.getBlobClient(poisonName).exists()).toBe(true);
  });

  /**
   * The function itself throws on every delivery, before any run exists: here the app has lost
   * access to the landing account (its key no longer matches, as after a key rotation the app's
   * settings missed), so reading the landed blob's properties answers 403 each time. The host
   * delivers the event exactly `maxDequeueCount` times, then moves it to `landing-events-poison`
   * (the event as it was, for an operator to replay) and stops.
   */
  it('moves an event the function throws on every time to landing-events-poison after maxDequeueCount deliveries', { timeout: 90_000 }, async () => {
    const { stack, gpg } = faults;
    // Set up with the runtime that still has access: the zone, its credential, the flow.
    const flow = await setUpFlow(clientFor(faults.runtime, LOCKED_OUT), gpg, 'locked');
    const zone = await faults.zone(LOCKED_OUT);
    const lockedOut = stack.landing.connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${Buffer.alloc(64, 7).toString('base64')}`);
    const runtime = await faults.restartRuntime({ LandingStorage: lockedOut });

    const name = 'locked/l.csv.gpg';
    const etag = (await zone.getBlockBlobClient(name).uploadData(await gpg.encrypt('id\n1\n', flow.recipient))).etag ?? '';
    const [poisoned] = await until('the event moved to the poison queue', () => {
      const found = runtimeEvents(runtime, 'queue-poisoned');
      return Promise.resolve(found.length > 0 ? found : undefined);
    }, 60_000);
    expect(poisoned).toMatchObject({ functionName: 'ingest-landing', queue: 'landing-events', poisonQueue: 'landing-events-poison', dequeueCount: MAX_DEQUEUE_COUNT, reason: 'maxDequeueCount' });

    await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
    const all = deliveries(runtime);
    expect(all.map((d) => [d.messageId, d.dequeueCount, d.outcome])).toEqual(
      Array.from({ length: MAX_DEQUEUE_COUNT }, (_, i) => [poisoned?.messageId, i + 1, 'Failed']),
    );
    // Each delivery threw before the ingestion recorded anything: no run, no attempt counted.
    // (The host's log says nothing of why: a HEAD's 403 has no body, so its error has no message.)
    expect(all.flatMap((d) => d.events)).toEqual([]);
    const asTheAppSeesIt = BlobServiceClient.fromConnectionString(lockedOut).getContainerClient(zone.containerName).getBlobClient(name);
    expect(await asTheAppSeesIt.getProperties().then(() => 'readable', (err: unknown) => (err instanceof RestError ? err.statusCode : String(err)))).toBe(403);
    expect(await runsOf(clientFor(runtime, LOCKED_OUT), flow.flowId)).toEqual([]);
    // The event, unchanged, on the poison queue; nothing left to deliver again.
    expect(await poisonedEvents(stack.azurite.connectionString)).toEqual([{ container: zone.containerName, blobName: name, etag: etag.replace(/^"|"$/g, '') }]);
    expect(await eventsQueueDepth(stack.azurite.connectionString)).toBe(0);
    expect(runtimeEvents(runtime, 'queue-poisoned')).toHaveLength(1);
    expect(await zone.getBlobClient(name).exists()).toBe(true);
  });
});
