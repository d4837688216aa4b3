import type { ContainerClient } from '@azure/storage-blob';
import { ApiClient, landingZone } from '../local/api-client.js';
import type { GpgHome } from '../local/gpg.js';

export interface IngestionFlow {
  readonly api: ApiClient;
  readonly flowId: string;
  /** The gpg recipient (the key's user id name), imported into the home. */
  readonly recipient: string;
  /** Landed files go under `{folder}/` in the zone. */
  readonly folder: string;
  /**
   * The org's prod landing zone as the customer reaches it: a container client on the SAS the API
   * issued (no account key). The SAS outlives the runtime that issued it.
   */
  readonly zone: ContainerClient;
  /** The flow's armored public key. */
  readonly publicKeyArmored: string;
}

/**
 * The walk-through's setup through the API: a PGP key pair (its public key imported into `home`,
 * the customer's gpg), a dataset, a source connection for `/{folder}/*.csv.gpg`, the flow, and the
 * landing zone's credential.
 */
export async function createIngestionFlow(
  url: string,
  org: string,
  home: GpgHome,
  name: string,
  keyType: 'Curve25519' | 'RSA' = 'Curve25519',
): Promise<IngestionFlow> {
  const api = new ApiClient(url, org);
  const key = await api.json<{ publicKey: string; publicKeyId: string }>(
    'POST',
    '/data/foundation/connectors/encryption/keys',
    {
      name,
      encryptionAlgorithm: 'PGP',
      params: { passPhrase: `${name} benchmark passphrase`, keyType },
    },
  );
  const publicKeyArmored = Buffer.from(key.publicKey, 'base64').toString('utf8');
  await home.importKey(publicKeyArmored);
  const [ref] = await api.json<string[]>('POST', '/data/foundation/catalog/dataSets', { name });
  const dataSetId = ref?.split('/')[2] ?? '';
  const source = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/sourceConnections', {
    name,
    data: { format: 'delimited' },
    params: { path: `/${name}/*.csv.gpg` },
  });
  const target = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/targetConnections', {
    name,
    params: { dataSetId },
  });
  const flow = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/flows', {
    name,
    sourceConnectionIds: [source.id],
    targetConnectionIds: [target.id],
    transformations: [{ name: 'Encryption', params: { publicKeyId: key.publicKeyId } }],
  });
  return { api, flowId: flow.id, recipient: name, folder: name, zone: await landingZone(api), publicKeyArmored };
}
