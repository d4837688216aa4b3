import { ContainerClient } from '@azure/storage-blob';
import { createMessage, encrypt, readKey } from 'openpgp';
import { ApiClient, waitForRun, type LandingZoneCredential } from '../support/api-client.js';

/**
 * Ingests `csv` into `org`'s production sandbox through the running app the way a customer does
 * (PGP key, connections, flow, an encrypted file in the landing zone) and returns the exported
 * file's id, for tests of `GET /data/foundation/export/files/{fileId}`. Every call is plaintext, so
 * run it before the org turns on `requireEncryption`.
 */
export async function ingestFile(baseUrl: string, org: string, csv: Buffer, name = 'export'): Promise<string> {
  const api = new ApiClient(baseUrl, org);
  const key = await api.json<{ publicKeyId: string; publicKey: string }>('POST', '/data/foundation/connectors/encryption/keys', {
    name: `${name}-key`,
    encryptionAlgorithm: 'PGP',
    params: { passPhrase: 'a passphrase for the export tests' },
  });
  const [ref] = await api.json<string[]>('POST', '/data/foundation/catalog/dataSets', { name: `${name}-dataset` });
  const dataSetId = ref?.split('/')[2] ?? '';
  const source = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/sourceConnections', {
    name: `${name}-src`,
    data: { format: 'delimited' },
    params: { path: `/${name}/*.csv.gpg` },
  });
  const target = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/targetConnections', { name: `${name}-tgt`, params: { dataSetId } });
  const flow = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/flows', {
    name: `${name}-flow`,
    sourceConnectionIds: [source.id],
    targetConnectionIds: [target.id],
    transformations: [{ name: 'Encryption', params: { publicKeyId: key.publicKeyId } }],
  });
  const credential = await api.json<LandingZoneCredential>('GET', '/data/foundation/connectors/landingzone/credentials?type=user_drop_zone');
  // openpgp's declared return type does not survive typescript-eslint: narrow it here.
  const encrypted: unknown = await encrypt({
    message: await createMessage({ binary: new Uint8Array(csv) }),
    encryptionKeys: await readKey({ armoredKey: Buffer.from(key.publicKey, 'base64').toString('utf8') }),
    format: 'binary',
  });
  if (!(encrypted instanceof Uint8Array)) throw new Error('openpgp returned no bytes');
  const blob = `${name}/data.csv.gpg`;
  const uploaded = await new ContainerClient(credential.SASUri).getBlockBlobClient(blob).uploadData(Buffer.from(encrypted));
  const run = await waitForRun(api, flow.id, blob, { etag: uploaded.etag ?? '' });
  if (run.status !== 'success') throw new Error(`ingestion failed: ${JSON.stringify(run.errors)}`);
  const files = await api.json<{ data: { dataSetFileId: string }[] }>('GET', `/data/foundation/export/batches/${run.batchId ?? ''}/files`);
  const fileId = files.data[0]?.dataSetFileId;
  if (fileId === undefined) throw new Error('the batch lists no file');
  return fileId;
}

/** A CSV of about `bytes` bytes, with distinct lines so a reordering changes it. */
export function bigCsv(bytes: number): Buffer {
  const lines = ['id,name'];
  let size = 8;
  for (let i = 0; size < bytes; i++) {
    const line = `${i},customer-${String(i).padStart(8, '0')}`;
    lines.push(line);
    size += line.length + 1;
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}
