import { TableClient } from '@azure/data-tables';
import { KeyClient } from '@azure/keyvault-keys';
import { describe, expect, it } from 'vitest';
import type { RuntimeProcess } from '../support/runtime-process.js';
import { clientFor, expectExactlyOnce, poisonMessages, setUpFlow, until, useFaultStack, waitForAll } from './faults-support.js';
import { customerAdmin } from '../support/customer-vault.js';

const ORG = 'CF00TW1N50@AdobeOrg';
const CMK_ORGS = ['CF00TW1NC1@AdobeOrg', 'CF00TW1NC2@AdobeOrg', 'CF00TW1NC3@AdobeOrg'];
const FILES = 24;
const CONFIG = '/data/infrastructure/manager/customer/config';

/** How many times a runtime's function actually ingested (not skipped) a file. */
function ingested(runtime: RuntimeProcess): number {
  return runtime.lines.filter((l) => l.includes('ingestion-succeeded')).length;
}

/**
 * Two runtime instances on one storage account and one vault, as two hosts of a scaled-out app:
 * blob receipts (create-if-absent, then a lease) and runs keyed by blob ETag give each blob one
 * ingestion; the timer's singleton lease and the configs' ETag-conditional writes give each CMK
 * config one advance per state.
 */
describe('fault: two runtime instances against the same storage', () => {
  const faults = useFaultStack({ customerVault: true, runtimes: 2, env: { CMK_RECONCILE_SCHEDULE: '*/1 * * * * *' } });

  it('ingests each blob once across both instances', { timeout: 90_000 }, async () => {
    const { stack, gpg, landing } = faults;
    const [a, b] = [faults.instance(0), faults.instance(1)];
    const api = clientFor(a, ORG);
    const flow = await setUpFlow(api, gpg, 'twins');
    const t0 = Date.now();
    const payloads = await Promise.all(Array.from({ length: FILES }, (_, i) => gpg.encrypt(`id,n\n${i},row ${i}\n`.repeat(1 + (i % 7) * 500), flow.recipient)));
    const files = new Map<string, string>();
    await Promise.all(payloads.map(async (data, i) => {
      const name = `twins/t${String(i).padStart(2, '0')}.csv.gpg`;
      files.set(name, (await landing.getBlockBlobClient(`${ORG}/prod/${name}`).uploadData(data)).etag ?? '');
    }));
    const t1 = Date.now();
    await waitForAll(api, flow.flowId, files, 60_000);
    process.stdout.write(`two instances: landed in ${t1 - t0} ms, ingested in ${Date.now() - t1} ms\n`);
    await expectExactlyOnce(clientFor(b, ORG), flow, files);
    // Each file decrypted by exactly one of the two instances.
    expect(ingested(a) + ingested(b)).toBe(FILES);
    process.stdout.write(`two instances: ${ingested(a)} + ${ingested(b)} of ${FILES} files\n`);
    expect(await poisonMessages(stack.azurite.connectionString)).toEqual([]);
  });

  it('advances each CMK config once per state across both instances', { timeout: 90_000 }, async () => {
    const { stack, customerVault } = faults;
    const [a, b] = [faults.instance(0), faults.instance(1)];
    const customerKeys = new KeyClient(customerVault.url, customerAdmin(customerVault), { disableChallengeResourceVerification: true });
    const sandboxes = ['sb-a', 'sb-b', 'sb-c'];
    for (const org of CMK_ORGS) {
      for (const sandbox of sandboxes) {
        await clientFor(sandbox === 'sb-b' ? b : a, org, sandbox).json('POST', '/data/foundation/connectors/encryption/keys', {
          name: `k ${sandbox}`, encryptionAlgorithm: 'PGP', params: { passPhrase: 'a passphrase the customer chose' },
        });
      }
    }
    customerVault.resetRequestCounts();
    for (const [i, org] of CMK_ORGS.entries()) {
      const kid = (await customerKeys.createRsaKey(`twin-cmk-${i}`, { keySize: 3072 })).id ?? '';
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
