import { TableClient } from '@azure/data-tables';
import { KeyClient } from '@azure/keyvault-keys';
import { describe, expect, it } from 'vitest';
import {
  clientFor,
  encryptLargeFile,
  expectExactlyOnce,
  recordsIn,
  runsOf,
  setUpFlow,
  until,
  useFaultStack,
  waitForAll,
} from './faults-support.js';
import { customerAdmin } from '../support/customer-vault.js';

const ORG = 'CF00K1LL00@AdobeOrg';
const CMK_ORG = 'CF00K1LLC0@AdobeOrg';
const SIZE = 96 * 1024 * 1024;
const CONFIG = '/data/infrastructure/manager/customer/config';

interface ConfigView {
  status: string;
  progress: { sandboxesRewrapped: number };
  history: { status: string; event?: string }[];
}

/**
 * The local runtime SIGKILLed in the middle of work, then started again on the same storage: the
 * blob receipt (leased, attempt counted) and the run keyed by blob ETag make the file land in the
 * dataset exactly once; the CMK config's checkpoint and conditional writes make the reconciler
 * finish the move without re-writing a sandbox or repeating a state.
 */
describe('fault: runtime killed (SIGKILL) and restarted', () => {
  const faults = useFaultStack({ customerVault: true, env: { KEY_CACHE_TTL_SECONDS: '2', CMK_RECONCILE_SCHEDULE: '*/1 * * * * *' } });

  it('ingests a large file exactly once after a SIGKILL mid-ingestion', { timeout: 120_000 }, async () => {
    const { stack, gpg, landing } = faults;
    let runtime = faults.runtime;
    const api = clientFor(runtime, ORG);
    const flow = await setUpFlow(api, gpg, 'killed');
    const encrypted = await encryptLargeFile(gpg, flow.recipient, SIZE, 'killed.csv.gpg');
    const uploaded = await landing
      .getBlockBlobClient(`${ORG}/prod/killed/big.csv.gpg`)
      .uploadFile(encrypted, { blockSize: 8 * 1024 * 1024, concurrency: 4 });
    const etag = uploaded.etag ?? '';

    // Kill once the run exists and the file is being decrypted and staged, before it finishes.
    await until('the run in progress', async () => ((await runsOf(api, flow.flowId)).some((r) => r.status === 'inProgress') ? true : undefined), 30_000, 50);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await runtime.kill();
    const runs = TableClient.fromConnectionString(stack.azurite.connectionString, 'flowruns', { allowInsecureConnection: true });
    const atKill: string[] = [];
    for await (const e of runs.listEntities<{ flowId: string; status: string }>()) if (e.flowId === flow.flowId) atKill.push(e.status);
    expect(atKill).toEqual(['inProgress']);

    const started = Date.now();
    runtime = await faults.restartRuntime();
    const after = clientFor(runtime, ORG);
    const files = new Map([['killed/big.csv.gpg', etag]]);
    // The dead instance's receipt lease (30 s) has to lapse before the new one may take the blob.
    await waitForAll(after, flow.flowId, files, 90_000);
    process.stdout.write(`SIGKILL mid-ingestion: recovered in ${Date.now() - started} ms\n`);
    const [run] = await expectExactlyOnce(after, flow, files);
    expect(run?.metrics).toMatchObject({ outputBytes: SIZE, recordCount: recordsIn(SIZE) });
  });

  it('completes a CMK move exactly once after a SIGKILL mid-reconcile', { timeout: 120_000 }, async () => {
    const { stack, customerVault } = faults;
    let runtime = faults.runtime;
    const sandboxes = Array.from({ length: 10 }, (_, i) => `sb-${String(i).padStart(2, '0')}`);
    for (const sandbox of sandboxes) {
      await clientFor(runtime, CMK_ORG, sandbox).json('POST', '/data/foundation/connectors/encryption/keys', {
        name: `k ${sandbox}`, encryptionAlgorithm: 'PGP', params: { passPhrase: 'a passphrase the customer chose' },
      });
    }
    const customerKeys = new KeyClient(customerVault.url, customerAdmin(customerVault), { disableChallengeResourceVerification: true });
    const kid = (await customerKeys.createRsaKey('killed-cmk', { keySize: 3072 })).id ?? '';
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
