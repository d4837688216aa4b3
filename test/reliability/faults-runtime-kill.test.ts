import { TableClient } from '@azure/data-tables';
import { KeyClient } from '@azure/keyvault-keys';
import { describe, expect, it } from 'vitest';
import { ensureSandbox } from '../support/api-client.js';
import {
  clientFor,
  deliveries,
  encryptLargeFile,
  eventsQueueDepth,
  expectExactlyOnce,
  poisonedEvents,
  recordsIn,
  runsOf,
  setUpFlow,
  until,
  useFaultStack,
  visibleEvents,
  waitForAll,
} from './faults-support.js';
import { customerAdmin } from '../support/customer-vault.js';

const ORG = 'CF00K1LL00@AdobeOrg';
const CMK_ORG = 'CF00K1LLC0@AdobeOrg';
const SIZE = 96 * 1024 * 1024;
const CONFIG = '/data/infrastructure/manager/customer/config';
/**
 * How long a received message stays invisible (renewed at half of it while its function runs):
 * the host's 10 minutes cut down, so a message held by a killed runtime reappears within seconds.
 */
const VISIBILITY_MS = 6_000;

interface ConfigView {
  status: string;
  progress: { sandboxesRewrapped: number };
  history: { status: string; event?: string }[];
}

/**
 * The local runtime SIGKILLed in the middle of work, then started again on the same storage: the
 * event it held stays on the queue, invisible, until its visibility timeout runs out, and the run
 * keyed by blob ETag makes the new delivery finish the same run, so the file lands in the dataset
 * exactly once; the CMK config's checkpoint and conditional writes make the reconciler finish the
 * move without re-writing a sandbox or repeating a state.
 */
describe('fault: runtime killed (SIGKILL) and restarted', () => {
  const faults = useFaultStack({
    customerVault: true,
    env: { KEY_CACHE_TTL_SECONDS: '2', CMK_RECONCILE_SCHEDULE: '*/1 * * * * *', CIPHERFLOW_QUEUE_VISIBILITY_MS: String(VISIBILITY_MS) },
  });

  it('ingests a large file exactly once after a SIGKILL mid-ingestion, once its event is visible again', { timeout: 120_000 }, async () => {
    const { stack, gpg } = faults;
    const killed = faults.runtime;
    const api = clientFor(killed, ORG);
    const flow = await setUpFlow(api, gpg, 'killed');
    const zone = await faults.zone(ORG);
    const encrypted = await encryptLargeFile(gpg, flow.recipient, SIZE, 'killed.csv.gpg');
    const uploaded = await zone.getBlockBlobClient('killed/big.csv.gpg').uploadFile(encrypted, { blockSize: 8 * 1024 * 1024, concurrency: 4 });
    const etag = uploaded.etag ?? '';

    // Kill once the run exists and the file is being decrypted and staged, before it finishes.
    await until('the run in progress', async () => ((await runsOf(api, flow.flowId)).some((r) => r.status === 'inProgress') ? true : undefined), 30_000, 50);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await killed.kill();
    const killedAt = Date.now();
    const runs = TableClient.fromConnectionString(stack.azurite.connectionString, 'flowruns', { allowInsecureConnection: true });
    const atKill: string[] = [];
    for await (const e of runs.listEntities<{ flowId: string; status: string }>()) if (e.flowId === flow.flowId) atKill.push(e.status);
    expect(atKill).toEqual(['inProgress']);
    // The dead runtime's one delivery never finished; its message is still on the queue, held
    // invisible by the dead runtime's receive (or last renewal).
    const [first, ...more] = deliveries(killed);
    expect(more).toEqual([]);
    expect(first).toMatchObject({ dequeueCount: 1, outcome: undefined });
    expect(await eventsQueueDepth(stack.azurite.connectionString)).toBe(1);
    expect(await visibleEvents(stack.azurite.connectionString)).toBe(0);

    const runtime = await faults.restartRuntime();
    const after = clientFor(runtime, ORG);
    const files = new Map([['killed/big.csv.gpg', etag]]);
    const redelivered = await until('the event delivered again', () => Promise.resolve(deliveries(runtime)[0]), 30_000, 50);
    const reappearedMs = Date.now() - killedAt;
    await waitForAll(after, flow.flowId, files, 90_000);
    process.stdout.write(`SIGKILL mid-ingestion: event delivered again ~${reappearedMs} ms after the kill, file done ${Date.now() - killedAt} ms after it\n`);
    // The same message, its second delivery, within one visibility timeout (plus a poll).
    expect(redelivered).toMatchObject({ messageId: first?.messageId, dequeueCount: 2 });
    expect(reappearedMs).toBeLessThan(VISIBILITY_MS + 10_000);
    const [run] = await expectExactlyOnce(after, flow, files);
    expect(run?.metrics).toMatchObject({ outputBytes: SIZE, recordCount: recordsIn(SIZE) });
    // It finished the run the dead runtime started: one ingestion, one delivery, nothing left.
    expect(deliveries(runtime).map((d) => [d.messageId, d.outcome])).toEqual([[first?.messageId, 'Succeeded']]);
    expect(deliveries(runtime)[0]?.events).toContainEqual(expect.objectContaining({ event: 'ingestion-succeeded', runId: run?.id }));
    expect(await eventsQueueDepth(stack.azurite.connectionString)).toBe(0);
    expect(await poisonedEvents(stack.azurite.connectionString)).toEqual([]);
  });

  it('completes a CMK move exactly once after a SIGKILL mid-reconcile', { timeout: 120_000 }, async () => {
    const { stack, customerVault } = faults;
    let runtime = faults.runtime;
    const sandboxes = Array.from({ length: 10 }, (_, i) => `sb-${String(i).padStart(2, '0')}`);
    for (const sandbox of sandboxes) {
      await ensureSandbox(runtime.url, CMK_ORG, sandbox);
      await clientFor(runtime, CMK_ORG, sandbox).json('POST', '/data/foundation/connectors/encryption/keys', {
        name: `k ${sandbox}`, encryptionAlgorithm: 'PGP', params: { passPhrase: 'a passphrase the customer chose' },
      });
    }
    const customerKeys = new KeyClient(customerVault.url, customerAdmin(customerVault), { disableChallengeResourceVerification: true });
    const kid = (await customerKeys.createRsaKey('killed-cmk', { keySize: 3072, tags: { 'cipherflow-org': CMK_ORG } })).id ?? '';
    // Each wrap at the customer's vault takes 400 ms, so the re-wrap is slow enough to be cut.
    customerVault.injectFault({ kind: 'stall', ms: 400, count: 1000, operations: ['wrapKey'] });
    customerVault.resetRequestCounts();
    const api = clientFor(runtime, CMK_ORG);
    await api.json('POST', CONFIG, {
      name: 'killed', type: 'BYOK_CONFIG', imsOrgId: CMK_ORG,
      configData: { providerType: 'AZURE_KEYVAULT', keyVaultKeyIdentifier: kid },
    });
    const view = (): Promise<ConfigView> => api.json<ConfigView>('GET', `${CONFIG}/killed?configType=BYOK_CONFIG`);
    await until('re-wrap under way', async () => {
      const v = await view();
      return v.status === 'UPDATE_EXISTING_RESOURCES' && v.progress.sandboxesRewrapped >= 3 ? v : undefined;
    }, 60_000, 100);
    await runtime.kill();
    customerVault.clearFaults();
    const wrapsBefore = customerVault.requestCounts().wrapKey ?? 0;
    expect(wrapsBefore).toBeLessThan(1 + sandboxes.length);

    runtime = await faults.restartRuntime();
    const resumed = clientFor(runtime, CMK_ORG);
    const done = await until('COMPLETED', async () => {
      const v = await resumed.json<ConfigView>('GET', `${CONFIG}/killed?configType=BYOK_CONFIG`);
      return v.status === 'COMPLETED' ? v : undefined;
    }, 60_000);
    expect(done.history.map((h) => h.status)).toEqual(['NEW', 'RUNNING', 'UPDATE_EXISTING_RESOURCES', 'COMPLETED']);
    // The validation round trip, then one wrap per sandbox, plus at most the one cut by the kill
    // (its result was never written, so the record was replaced once).
    const wraps = customerVault.requestCounts().wrapKey ?? 0;
    expect(wraps).toBeGreaterThanOrEqual(1 + sandboxes.length);
    expect(wraps).toBeLessThanOrEqual(2 + sandboxes.length);
    const rootKeys = TableClient.fromConnectionString(stack.azurite.connectionString, 'rootkeys', { allowInsecureConnection: true });
    const records: { kekVaultUrl: string; kekName: string }[] = [];
    for await (const e of rootKeys.listEntities<{ kekVaultUrl: string; kekName: string }>({ queryOptions: { filter: `PartitionKey eq '${CMK_ORG}'` } })) records.push(e);
    expect(records).toHaveLength(sandboxes.length);
    for (const r of records) expect(r).toMatchObject({ kekVaultUrl: customerVault.url, kekName: 'killed-cmk' });
    // Every sandbox's root key still opens, now at the customer's vault: a new key pair in each
    // sandbox is stored under it (after the cache TTL, so each one is unwrapped again).
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    customerVault.resetRequestCounts();
    for (const sandbox of sandboxes) {
      const res = await clientFor(runtime, CMK_ORG, sandbox).request('POST', '/data/foundation/connectors/encryption/keys', {
        name: `after ${sandbox}`, encryptionAlgorithm: 'PGP', params: { passPhrase: 'a passphrase the customer chose' },
      });
      expect(res.status, sandbox).toBe(200);
    }
    expect(customerVault.requestCounts().unwrapKey ?? 0).toBeGreaterThanOrEqual(sandboxes.length);
  });
});
