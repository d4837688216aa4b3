import { TableClient } from '@azure/data-tables';
import { KeyClient } from '@azure/keyvault-keys';
import { describe, expect, it } from 'vitest';
import { listParkedFiles, PARKED_FILES_TABLE } from '../../shared/ingestion/parked-files.js';
import { ensureSandbox } from '../support/api-client.js';
import {
  appEvents,
  clientFor,
  deliveries,
  eventsQueueDepth,
  expectExactlyOnce,
  poisonedEvents,
  runsOf,
  setUpFlow,
  until,
  useFaultStack,
  waitForAll,
} from './faults-support.js';
import { customerAdmin } from '../support/customer-vault.js';

const ORG = 'CF00VA0L70@AdobeOrg';
const CMK_ORG = 'CF00VA0LC0@AdobeOrg';
const FILES = 10;
/** Longer than the SDK's own retries and than five deliveries of an event (300 ms apart here). */
const OUTAGE_MS = 20_000;
const CONFIG = '/data/infrastructure/manager/customer/config';

interface ConfigView {
  status: string;
  progress: { sandboxesRewrapped: number };
  history: { status: string }[];
}

/**
 * Key Vault answering 503 to everything for a while. The root-key cache is cut to 1 s with no
 * stale window, so every file really needs the vault: the SDK retries each call (exponential,
 * jittered), then the ingestion parks the file (`ingestparked`, its run in progress, the blob in
 * its landing zone) and returns, so its event is deleted rather than delivered again towards the
 * poison queue, and the retry timer tries it again with exponential, jittered waits. Everything
 * completes once the vault is back, however long the outage, without a person, a failed delivery,
 * a poison message, a lost file or a second batch.
 */
describe('fault: Key Vault unavailable for a while', () => {
  const faults = useFaultStack({
    customerVault: true,
    env: {
      KEY_CACHE_TTL_SECONDS: '1',
      KEY_CACHE_MAX_STALE_SECONDS: '0',
      CMK_RECONCILE_SCHEDULE: '*/1 * * * * *',
      INGEST_RETRY_SCHEDULE: '*/1 * * * * *',
    },
  });

  it('parks landed files during the outage and ingests each exactly once after it', { timeout: 150_000 }, async () => {
    const { stack, runtime, gpg } = faults;
    const api = clientFor(runtime, ORG);
    const flow = await setUpFlow(api, gpg, 'outage');
    const zone = await faults.zone(ORG);
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the cached root key expires

    stack.vault.injectFault({ kind: 'status', status: 503, count: 1_000_000 });
    const outageStarted = Date.now();
    const files = new Map<string, string>();
    for (let i = 0; i < FILES; i++) {
      const name = `outage/f${i}.csv.gpg`;
      const data = await gpg.encrypt(`id,n\n${i},row ${i}\n`, flow.recipient);
      files.set(name, (await zone.getBlockBlobClient(name).uploadData(data)).etag ?? '');
    }
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS - (Date.now() - outageStarted)));
    // During the outage: nothing finished, nothing poisoned, every file parked.
    const during = await runsOf(api, flow.flowId);
    expect(during.filter((r) => r.status !== 'inProgress')).toEqual([]);
    expect(await poisonedEvents(stack.azurite.connectionString)).toEqual([]);
    const parked = TableClient.fromConnectionString(stack.azurite.connectionString, PARKED_FILES_TABLE, { allowInsecureConnection: true });
    const parkedFiles = await until('every file parked', async () => {
      const list = await listParkedFiles(parked, ORG);
      return list.length === FILES ? list : undefined;
    }, 15_000);
    expect(parkedFiles.map((f) => `${f.container}/${f.blobName}`).sort()).toEqual([...files.keys()].map((name) => `${zone.containerName}/${name}`).sort());
    // Each event delivered once and deleted: parking is the delivery's success, not a failure
    // that would be delivered again towards the poison queue.
    await until('every delivery settled', () => Promise.resolve(deliveries(runtime).every((d) => d.outcome !== undefined) ? true : undefined), 5_000);
    expect(deliveries(runtime).map((d) => [d.dequeueCount, d.outcome])).toEqual(Array.from({ length: FILES }, () => [1, 'Succeeded']));
    expect(appEvents(runtime, 'ingestion-waiting')).toHaveLength(FILES);
    expect(await eventsQueueDepth(stack.azurite.connectionString)).toBe(0);
    // The vault was asked and refused; how often depends on timing (files landing while an unwrap
    // is in flight share it), so the parked records above are the per-file evidence.
    const refused = stack.vault.requestCounts().faulted ?? 0;
    expect(refused).toBeGreaterThan(0);

    stack.vault.clearFaults();
    const back = Date.now();
    await waitForAll(api, flow.flowId, files, 90_000);
    const parkings = runtime.lines.filter((l) => l.includes('ingestion-waiting')).length;
    process.stdout.write(`Key Vault outage (${OUTAGE_MS} ms, ${refused} vault requests refused, ${parkings} attempts parked): ${FILES} files done ${Date.now() - back} ms after it ended\n`);
    await expectExactlyOnce(api, flow, files);
    // The retry timer finished them: no event was delivered again, none failed.
    expect(deliveries(runtime).map((d) => [d.dequeueCount, d.outcome])).toEqual(Array.from({ length: FILES }, () => [1, 'Succeeded']));
    await until('the parked records cleared', async () => ((await listParkedFiles(parked, ORG)).length === 0 ? true : undefined), 10_000);
    expect(await poisonedEvents(stack.azurite.connectionString)).toEqual([]);
    expect(await eventsQueueDepth(stack.azurite.connectionString)).toBe(0);
    for (const name of files.keys()) expect(await zone.getBlobClient(name).exists()).toBe(true);
  });

  it('holds a CMK config through outages of either vault and completes it once they end', { timeout: 120_000 }, async () => {
    const { stack, runtime, customerVault } = faults;
    stack.vault.clearFaults(); // independent of how the previous test ended
    const sandboxes = ['sb-a', 'sb-b', 'sb-c', 'sb-d'];
    for (const sandbox of sandboxes) {
      await ensureSandbox(runtime.url, CMK_ORG, sandbox);
      await clientFor(runtime, CMK_ORG, sandbox).json('POST', '/data/foundation/connectors/encryption/keys', {
        name: `k ${sandbox}`, encryptionAlgorithm: 'PGP', params: { passPhrase: 'a passphrase the customer chose' },
      });
    }
    const customerKeys = new KeyClient(customerVault.url, customerAdmin(customerVault), { disableChallengeResourceVerification: true });
    const kid = (await customerKeys.createRsaKey('outage-cmk', { keySize: 3072, tags: { 'cipherflow-org': CMK_ORG } })).id ?? '';
    const api = clientFor(runtime, CMK_ORG);
    const view = (): Promise<ConfigView> => api.json<ConfigView>('GET', `${CONFIG}/outage?configType=BYOK_CONFIG`);

    // 1. The customer's vault is down while the config is validated: it must wait, not fail.
    customerVault.injectFault({ kind: 'status', status: 503, count: 1_000_000 });
    customerVault.resetRequestCounts();
    await api.json('POST', CONFIG, {
      name: 'outage', type: 'BYOK_CONFIG', imsOrgId: CMK_ORG,
      configData: { providerType: 'AZURE_KEYVAULT', keyVaultKeyIdentifier: kid },
    });
    await until('validation attempted', () => Promise.resolve((customerVault.requestCounts().faulted ?? 0) >= 3 ? true : undefined), 30_000);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(['NEW', 'RUNNING']).toContain((await view()).status);

    // 2. It returns, but our system vault (which unwraps the sandboxes' current root keys) goes
    //    down: the config moves to UPDATE_EXISTING_RESOURCES and waits there.
    stack.vault.injectFault({ kind: 'status', status: 503, count: 1_000_000, operations: ['unwrapKey'] });
    customerVault.clearFaults();
    await until('UPDATE_EXISTING_RESOURCES', async () => ((await view()).status === 'UPDATE_EXISTING_RESOURCES' ? true : undefined), 30_000);
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const stuck = await view();
    expect(stuck).toMatchObject({ status: 'UPDATE_EXISTING_RESOURCES', progress: { sandboxesRewrapped: 0 } });

    // 3. Both back: completed within a few cycles, every sandbox wrapped once, no state repeated.
    customerVault.resetRequestCounts();
    stack.vault.clearFaults();
    const done = await until('COMPLETED', async () => {
      const v = await view();
      return v.status === 'COMPLETED' ? v : undefined;
    }, 60_000);
    expect(done.history.map((h) => h.status)).toEqual(['NEW', 'RUNNING', 'UPDATE_EXISTING_RESOURCES', 'COMPLETED']);
    expect(customerVault.requestCounts().wrapKey ?? 0).toBe(sandboxes.length);
    const rootKeys = TableClient.fromConnectionString(stack.azurite.connectionString, 'rootkeys', { allowInsecureConnection: true });
    for await (const e of rootKeys.listEntities<{ kekVaultUrl: string; kekName: string }>({ queryOptions: { filter: `PartitionKey eq '${CMK_ORG}'` } })) {
      expect(e).toMatchObject({ kekVaultUrl: customerVault.url, kekName: 'outage-cmk' });
    }
  });
});
