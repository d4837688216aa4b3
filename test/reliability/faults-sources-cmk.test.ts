import { KeyClient } from '@azure/keyvault-keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Run } from '../support/api-client.js';
import { customerAdmin } from '../support/customer-vault.js';
import { startSftpServer, type SftpServer } from '../support/sftp-server.js';
import { createKey, createSourceFlow, EVERY_SECOND, expectIngestedOnce, poisoned, putSftp, scanOutcomes, sftpConnection } from './faults-sources-support.js';
import { clientFor, runsOf, until, useFaultStack } from './faults-support.js';

const ORG = 'CF0019CMK0@AdobeOrg';
const CONFIG = '/data/infrastructure/manager/customer/config';
const KEY_NAME = 'sources-cmk';

/**
 * A connection's credential is stored envelope-encrypted under the org and sandbox's root key,
 * which the org's customer-managed key wraps: when the org revokes our access to its key, a
 * scheduled run of its SFTP flow cannot decrypt the credential, so it cannot even connect; the
 * run is recorded failed with CMK_ACCESS_REVOKED and nothing is listed or read. Once access
 * returns, the flow's next scheduled run lists the folder and ingests what arrived meanwhile.
 * The customer's vault is a second Key Vault emulator, the reconciler and scheduler run every
 * second, and KEY_CACHE_TTL_SECONDS is 2, so the revocation bites within seconds.
 */
describe('fault: the org revokes its customer key while a scheduled cloud source runs', () => {
  const faults = useFaultStack({
    customerVault: true,
    env: { ...EVERY_SECOND, KEY_CACHE_TTL_SECONDS: '2', CMK_RECONCILE_SCHEDULE: '*/1 * * * * *' },
  });
  let sftp: SftpServer;

  beforeAll(async () => {
    sftp = await startSftpServer();
  }, 60_000);
  afterAll(async () => {
    await sftp?.stop();
  });

  it('records the scheduled run failed with CMK_ACCESS_REVOKED, and ingests at the first run after access returns', { timeout: 240_000 }, async () => {
    const { stack, gpg, customerVault, runtime } = faults;
    const api = clientFor(runtime, ORG);
    const appPrincipal = stack.vault.systemAssignedIdentity.principalId;
    const status = async () => (await api.json<{ status: string }>('GET', `${CONFIG}/sources?configType=BYOK_CONFIG`)).status;
    const reached = (wanted: string) => until(`the config ${wanted}`, async () => ((await status()) === wanted ? true : undefined), 60_000, 250);

    // The connection (its credential stored under the sandbox's root key) and the flow's key
    // exist before the org moves to its own key: the move re-wraps the root key they are under.
    const connectionId = await sftpConnection(api, sftp);
    const key = await createKey(api, gpg, 'cmk');
    const customerKeys = new KeyClient(customerVault.url, customerAdmin(customerVault), { disableChallengeResourceVerification: true });
    const kid = (await customerKeys.createRsaKey(KEY_NAME, { keySize: 3072, tags: { 'cipherflow-org': ORG } })).id ?? '';
    await api.json('POST', CONFIG, { name: 'sources', type: 'BYOK_CONFIG', imsOrgId: ORG, configData: { providerType: 'AZURE_KEYVAULT', keyVaultKeyIdentifier: kid } });
    await reached('COMPLETED');

    const plaintexts = new Map<string, Buffer>();
    const versions = new Map<string, string>();
    const put = async (name: string) => {
      const plaintext = Buffer.from(`id,name\n1,${name}\n`);
      plaintexts.set(name, plaintext);
      versions.set(name, await putSftp(sftp, name, await gpg.encrypt(plaintext, key.recipient)));
    };
    await put('cmk/before.csv.gpg');
    // Every minute from 35 s ago: the first run is due at once, the next ones 25 s and 85 s from now.
    const flow = await createSourceFlow(api, 'cmk', key, connectionId, '/cmk/*.csv.gpg', { startTime: String(Math.floor(Date.now() / 1000) - 35), frequency: 'minute', interval: '1' });
    const finished = (name: string) => until(`a finished run of ${name}`, async () => (await runsOf(api, flow.flowId)).find((r) => r.fileName === name && r.status !== 'inProgress'), 120_000, 500);
    expect(await finished('cmk/before.csv.gpg')).toMatchObject({ status: 'success', blobETag: versions.get('cmk/before.csv.gpg') });

    // The org revokes our access to its key; once the app knows, a file lands meanwhile.
    await customerVault.revokeAccess(appPrincipal, KEY_NAME);
    await reached('KEY_ACCESS_REVOKED');
    const revokedAt = Date.now();
    // sshd logs every login: the credential is not used while the key is revoked.
    const logins = () => (sftp.log().match(/Accepted password for /g) ?? []).length;
    const loginsWhenRevoked = logins();
    expect(loginsWhenRevoked).toBeGreaterThan(0);
    await put('cmk/during.csv.gpg');
    const failed = await until('a scheduled run failed', async () => (await runsOf(api, flow.flowId)).find((r) => r.status === 'failed'), 90_000, 500);
    process.stdout.write(`CMK revoked: the scheduled run failed ${Date.now() - revokedAt} ms after the revocation was known\n`);
    expect(failed.blobETag).toMatch(/^schedule-\d+$/);
    expect(failed.errors.map((e) => e.code)).toEqual(['CMK_ACCESS_REVOKED']);
    // The listing never happened: the scan failed before it could log in, and the new file has no run.
    const tick = Number(failed.blobETag.slice('schedule-'.length));
    const outcome = await until('the failed scan logged', () => Promise.resolve(scanOutcomes([runtime], flow.flowId).find((s) => s.tick === tick)), 10_000, 100);
    expect(outcome).toMatchObject({ kind: 'failed', code: 'CMK_ACCESS_REVOKED' });
    expect((await runsOf(api, flow.flowId)).filter((r: Run) => r.fileName === 'cmk/during.csv.gpg')).toEqual([]);
    expect(logins()).toBe(loginsWhenRevoked);

    // Access returns: the next scheduled run lists the folder and takes the file that waited.
    await customerVault.restoreAccess(appPrincipal, KEY_NAME);
    await reached('COMPLETED');
    const during = await finished('cmk/during.csv.gpg');
    expect(during.status, JSON.stringify(during.errors)).toBe('success');
    expect(logins()).toBeGreaterThan(loginsWhenRevoked);
    const scans = scanOutcomes([runtime], flow.flowId).sort((x, y) => Number(x.tick) - Number(y.tick));
    expect(scans.map((s) => [s.kind, s.kind === 'failed' ? s.code : s.enqueued])).toEqual([
      ['listed', 1],
      ...scans.slice(1, -1).map((s) => (s.kind === 'failed' ? ['failed', 'CMK_ACCESS_REVOKED'] : ['listed', 0])),
      ['listed', 1],
    ]);
    const runs = await expectIngestedOnce(api, flow, versions, new Map([...plaintexts].map(([name, data]) => [name, data.length])));
    const last = runs.find((r) => r.fileName === 'cmk/during.csv.gpg');
    const files = await api.json<{ data: { dataSetFileId: string }[] }>('GET', `/data/foundation/export/batches/${last?.batchId ?? ''}/files`);
    const res = await api.request('GET', `/data/foundation/export/files/${files.data[0]?.dataSetFileId ?? ''}`);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(plaintexts.get('cmk/during.csv.gpg'));
    expect(await poisoned(stack.azurite.connectionString)).toEqual([]);
  });
});
