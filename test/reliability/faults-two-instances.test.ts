import { randomUUID } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { KeyClient } from '@azure/keyvault-keys';
import { ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';
import { ensureSandbox } from '../support/api-client.js';
import {
  appEvents,
  clientFor,
  deliveries,
  eventsQueueDepth,
  expectExactlyOnce,
  poisonedEvents,
  publishBlobCreated,
  runsOf,
  setUpFlow,
  until,
  useFaultStack,
  waitForAll,
  type Delivery,
} from './faults-support.js';
import { customerAdmin } from '../support/customer-vault.js';

const ORG = 'CF00TW1N50@AdobeOrg';
const CMK_ORGS = ['CF00TW1NC1@AdobeOrg', 'CF00TW1NC2@AdobeOrg', 'CF00TW1NC3@AdobeOrg'];
const FILES = 24;
/** Files whose event is delivered twice. */
const DUPLICATED = 12;
const CONFIG = '/data/infrastructure/manager/customer/config';

/**
 * Two runtime instances on one storage account and one vault, as two hosts of a scaled-out app:
 * both poll the one events queue, and a received message is invisible to the other instance while
 * it runs, so each upload's event is delivered once; runs keyed by blob ETag would absorb a
 * second delivery anyway. The timer's singleton lease and the configs' ETag-conditional writes
 * give each CMK config one advance per state.
 */
describe('fault: two runtime instances against the same storage', () => {
  const faults = useFaultStack({ customerVault: true, runtimes: 2, env: { CMK_RECONCILE_SCHEDULE: '*/1 * * * * *' } });

  it('ingests each file once across both instances', { timeout: 90_000 }, async () => {
    const { stack, gpg } = faults;
    const [a, b] = [faults.instance(0), faults.instance(1)];
    const api = clientFor(a, ORG);
    const flow = await setUpFlow(api, gpg, 'twins');
    const zone = await faults.zone(ORG);
    const t0 = Date.now();
    const payloads = await Promise.all(Array.from({ length: FILES }, (_, i) => gpg.encrypt(`id,n\n${i},row ${i}\n`.repeat(1 + (i % 7) * 500), flow.recipient)));
    const files = new Map<string, string>();
    await Promise.all(payloads.map(async (data, i) => {
      const name = `twins/t${String(i).padStart(2, '0')}.csv.gpg`;
      files.set(name, (await zone.getBlockBlobClient(name).uploadData(data)).etag ?? '');
    }));
    const t1 = Date.now();
    await waitForAll(api, flow.flowId, files, 60_000);
    process.stdout.write(`two instances: landed in ${t1 - t0} ms, ingested in ${Date.now() - t1} ms\n`);
    await expectExactlyOnce(clientFor(b, ORG), flow, files);
    // Each event delivered to exactly one of the two instances, once, and it succeeded there.
    const all = [...deliveries(a), ...deliveries(b)];
    expect(all).toHaveLength(FILES);
    expect(new Set(all.map((d) => d.messageId)).size).toBe(FILES);
    expect(all.filter((d) => d.dequeueCount !== 1 || d.outcome !== 'Succeeded')).toEqual([]);
    // Each file decrypted by exactly one of the two instances.
    const ingested = [...appEvents(a, 'ingestion-succeeded'), ...appEvents(b, 'ingestion-succeeded')];
    expect(ingested).toHaveLength(FILES);
    process.stdout.write(`two instances: ${deliveries(a).length} + ${deliveries(b).length} of ${FILES} events\n`);
    expect(await eventsQueueDepth(stack.azurite.connectionString)).toBe(0);
    expect(await poisonedEvents(stack.azurite.connectionString)).toEqual([]);
  });

  it('ingests each file once when Event Grid delivers every event twice, to both instances at once', { timeout: 90_000 }, async () => {
    const { stack, gpg } = faults;
    const [a, b] = [faults.instance(0), faults.instance(1)];
    const api = clientFor(a, ORG);
    const flow = await setUpFlow(api, gpg, 'dupes');
    const zone = await faults.zone(ORG);
    // Written past the local Event Grid, so no event of its own: the test publishes each twice.
    const landing = stack.azurite.landing;
    const direct = new ContainerClient(`${landing.blobEndpoint}/${zone.containerName}`, new StorageSharedKeyCredential(landing.accountName, landing.accountKey));
    const files = new Map<string, string>();
    const plaintexts = new Map<string, string>();
    for (let i = 0; i < DUPLICATED; i++) {
      const name = `dupes/d${String(i).padStart(2, '0')}.csv.gpg`;
      plaintexts.set(name, `id,n\n${i},row ${i}\n`.repeat(1 + (i % 5) * 2000));
      const data = await gpg.encrypt(plaintexts.get(name) ?? '', flow.recipient);
      files.set(name, (await direct.getBlockBlobClient(name).uploadData(data)).etag ?? '');
    }
    const [beforeA, beforeB] = [deliveries(a).length, deliveries(b).length];
    // Both instances' deliveries since, in the order of each message's deliveries.
    const fresh = () => [...deliveries(a).slice(beforeA), ...deliveries(b).slice(beforeB)].sort((x, y) => x.dequeueCount - y.dequeueCount);
    for (const [blobName, etag] of files) {
      const id = randomUUID();
      for (let copy = 0; copy < 2; copy++) await publishBlobCreated(stack.azurite.connectionString, { container: zone.containerName, blobName, etag, id });
    }
    await waitForAll(api, flow.flowId, files, 60_000);
    // Every copy accepted at its first delivery: a copy that found its run finished skipped it, and
    // one that came while the other copy held the run waited for it rather than race it.
    const byMessage = await until('every copy accepted', () => {
      const grouped = new Map<string, Delivery[]>();
      for (const d of fresh()) grouped.set(d.messageId, [...(grouped.get(d.messageId) ?? []), d]);
      const accepted = grouped.size === 2 * DUPLICATED && [...grouped.values()].every((copies) => copies.at(-1)?.outcome === 'Succeeded');
      return Promise.resolve(accepted ? grouped : undefined);
    }, 30_000);
    await expectExactlyOnce(clientFor(b, ORG), flow, files);
    const settled = [...byMessage.values()].flat();
    const decrypted = settled.filter((d) => d.events.some((e) => e.event === 'ingestion-succeeded')).length;
    process.stdout.write(
      `two instances, every event twice: ${settled.length} deliveries of ${byMessage.size} messages, ${decrypted} decrypted a file, ` +
        `${settled.filter((d) => d.outcome === 'Failed').length} failed\n`,
    );
    for (const [messageId, copies] of byMessage) expect(copies.map((c) => [c.dequeueCount, c.outcome]), messageId).toEqual([[1, 'Succeeded']]);
    expect(decrypted).toBe(DUPLICATED);
    expect(settled.filter((d) => d.outcome === 'Failed')).toEqual([]);
    expect(await eventsQueueDepth(stack.azurite.connectionString)).toBe(0);
    expect(await poisonedEvents(stack.azurite.connectionString)).toEqual([]);
    // Whichever copy's plaintext was kept, it is whole: each file exports as it was landed.
    for (const run of await runsOf(api, flow.flowId)) {
      const listed = await api.json<{ data: { dataSetFileId: string }[] }>('GET', `/data/foundation/export/batches/${run.batchId ?? ''}/files`);
      const res = await api.request('GET', `/data/foundation/export/files/${listed.data[0]?.dataSetFileId ?? ''}`);
      expect(res.status, run.fileName).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).toString('utf8'), run.fileName).toBe(plaintexts.get(run.fileName));
    }
  });

  it('advances each CMK config once per state across both instances', { timeout: 90_000 }, async () => {
    const { stack, customerVault } = faults;
    const [a, b] = [faults.instance(0), faults.instance(1)];
    const customerKeys = new KeyClient(customerVault.url, customerAdmin(customerVault), { disableChallengeResourceVerification: true });
    const sandboxes = ['sb-a', 'sb-b', 'sb-c'];
    for (const org of CMK_ORGS) {
      for (const sandbox of sandboxes) {
        await ensureSandbox(a.url, org, sandbox);
        await clientFor(sandbox === 'sb-b' ? b : a, org, sandbox).json('POST', '/data/foundation/connectors/encryption/keys', {
          name: `k ${sandbox}`, encryptionAlgorithm: 'PGP', params: { passPhrase: 'a passphrase the customer chose' },
        });
      }
    }
    customerVault.resetRequestCounts();
    for (const [i, org] of CMK_ORGS.entries()) {
      const kid = (await customerKeys.createRsaKey(`twin-cmk-${i}`, { keySize: 3072, tags: { 'cipherflow-org': org } })).id ?? '';
      await clientFor(i % 2 === 0 ? a : b, org).json('POST', CONFIG, {
        name: 'twin', type: 'BYOK_CONFIG', imsOrgId: org, configData: { providerType: 'AZURE_KEYVAULT', keyVaultKeyIdentifier: kid },
      });
    }
    for (const org of CMK_ORGS) {
      const done = await until(`${org} COMPLETED`, async () => {
        const v = await clientFor(b, org).json<{ status: string; history: { status: string }[] }>('GET', `${CONFIG}/twin?configType=BYOK_CONFIG`);
        return v.status === 'COMPLETED' ? v : undefined;
      }, 60_000);
      expect(done.history.map((h) => h.status), org).toEqual(['NEW', 'RUNNING', 'UPDATE_EXISTING_RESOURCES', 'COMPLETED']);
    }
    // One validation round trip per config, one wrap per sandbox: nothing done twice.
    expect(customerVault.requestCounts().wrapKey ?? 0).toBe(CMK_ORGS.length * (1 + sandboxes.length));
    const rootKeys = TableClient.fromConnectionString(stack.azurite.connectionString, 'rootkeys', { allowInsecureConnection: true });
    for (const [i, org] of CMK_ORGS.entries()) {
      for await (const e of rootKeys.listEntities<{ kekName: string }>({ queryOptions: { filter: `PartitionKey eq '${org}'` } })) {
        expect(e.kekName).toBe(`twin-cmk-${i}`);
      }
    }
  });
});
