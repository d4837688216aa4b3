import { ContainerClient } from '@azure/storage-blob';
import { createMessage, encrypt, readKey } from 'openpgp';
import { describe, expect, it } from 'vitest';
import type { ApiClient, Run } from '../support/api-client.js';
import { useZoneStack } from './support/zone-stack.js';

const ATTACKER = 'CF16A7ATTK@AdobeOrg';
const VICTIM = 'CF16A7VICT@AdobeOrg';

/**
 * Attack (the one that opened issue #16): with write access to a landing container and the
 * victim's PGP public key, write a file whose name says it is the victim's
 * (`VICTIM@AdobeOrg/prod/in/evil.csv.gpg`), encrypted to the victim's key and matching the
 * victim's flow path. Tenancy now comes from the zone's container, never from the name: nothing
 * reaches the victim's runs or datasets; the files are the attacker's, in the attacker's zone.
 */
describe("attack: a blob named as another tenant's file", () => {
  const zones = useZoneStack();

  async function flowFor(api: ApiClient): Promise<{ flowId: string; publicKey: string; dataSetId: string }> {
    const key = await api.json<{ publicKey: string; publicKeyId: string }>('POST', '/data/foundation/connectors/encryption/keys', {
      name: 'k',
      encryptionAlgorithm: 'PGP',
      params: { passPhrase: 'a passphrase of some length' },
    });
    const [ref] = await api.json<string[]>('POST', '/data/foundation/catalog/dataSets', { name: 'd' });
    const source = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/sourceConnections', { name: 's', data: { format: 'delimited' }, params: { path: '/in/*.csv.gpg' } });
    const target = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/targetConnections', { name: 't', params: { dataSetId: ref?.split('/')[2] ?? '' } });
    const flow = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/flows', {
      name: 'f',
      sourceConnectionIds: [source.id],
      targetConnectionIds: [target.id],
      transformations: [{ name: 'Encryption', params: { publicKeyId: key.publicKeyId } }],
    });
    return { flowId: flow.id, publicKey: Buffer.from(key.publicKey, 'base64').toString('utf8'), dataSetId: ref?.split('/')[2] ?? '' };
  }

  async function runs(api: ApiClient, flowId: string): Promise<Run[]> {
    return (await api.json<{ items: Run[] }>('GET', `/data/foundation/flowservice/runs?property=flowId==${flowId}`)).items;
  }

  it('is ingested into the zone owner only, never into the tenant its name claims', async () => {
    const victim = await flowFor(zones.api(VICTIM));
    const attacker = await flowFor(zones.api(ATTACKER));
    const encrypted: unknown = await encrypt({
      message: await createMessage({ binary: new Uint8Array(Buffer.from('id,name\n1,Mallory\n')) }),
      encryptionKeys: await readKey({ armoredKey: victim.publicKey }),
      format: 'binary',
    });
    if (!(encrypted instanceof Uint8Array)) throw new Error('openpgp returned no bytes');
    const zone = new ContainerClient((await zones.credential(ATTACKER)).SASUri);
    for (const name of [`${VICTIM}/prod/in/evil.csv.gpg`, 'in/evil.csv.gpg']) await zone.getBlockBlobClient(name).uploadData(Buffer.from(encrypted));

    // The attacker's own flow takes `in/evil.csv.gpg` and fails it: it is not encrypted to the attacker's key.
    const deadline = Date.now() + 30_000;
    let own: Run[] = [];
    while (Date.now() < deadline && !own.some((r) => r.status !== 'inProgress')) {
      own = await runs(zones.api(ATTACKER), attacker.flowId);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(own.map((r) => [r.fileName, r.status, r.errors[0]?.code])).toEqual([['in/evil.csv.gpg', 'failed', 'NOT_ENCRYPTED_FOR_THIS_KEY']]);
    // Both events were handled by now (one queue, one runtime): the victim saw nothing.
    await zones.runtime.waitForLine((e) => typeof e.message === 'string' && e.message.includes('"reason":"no-matching-flow"'));
    expect(await runs(zones.api(VICTIM), victim.flowId)).toEqual([]);
    expect(await zones.api(VICTIM).json('GET', `/data/foundation/catalog/batches?dataSet=${victim.dataSetId}`)).toEqual({});
  });
});
