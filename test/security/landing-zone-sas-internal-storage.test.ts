import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { QueueClient } from '@azure/storage-queue';
import { describe, expect, it } from 'vitest';
import { storageStatus, useZoneStack } from './support/zone-stack.js';

const ORG = 'CF16A2ATTK@AdobeOrg';

/**
 * Attack: a tenant's zone SAS used against the app's internal storage (encrypted objects, host
 * state, the ingestion queue) or to list the landing account. The landing account is a different
 * account with a different key, and the SAS names one container: all refused by storage.
 */
describe('attack: a landing-zone SAS used on internal storage or the whole account', () => {
  const zones = useZoneStack();

  it('cannot read, write or list internal containers, send to the ingestion queue, or list accounts', async () => {
    const { SASToken } = await zones.credential(ORG);
    const internal = zones.stack.azurite.blobEndpoint;
    for (const container of ['objects', 'azure-webjobs-hosts', 'landing']) {
      const c = new ContainerClient(`${internal}/${container}?${SASToken}`);
      expect(await storageStatus(c.listBlobsFlat().next()), container).toBe(403);
      expect(await storageStatus(c.getBlockBlobClient('evil').uploadData(Buffer.from('x'))), container).toBe(403);
    }
    const queue = new QueueClient(`${zones.stack.azurite.queueEndpoint}/landing-events?${SASToken}`);
    expect(await storageStatus(queue.sendMessage('eyJldmlsIjp0cnVlfQ=='))).toBe(403);
    expect(await storageStatus(new BlobServiceClient(`${internal}?${SASToken}`).listContainers().next())).toBe(403);
    expect(await storageStatus(new BlobServiceClient(`${zones.stack.landing.blobEndpoint}?${SASToken}`).listContainers().next())).toBe(403);
  });

  it('cannot reach the internal account through the landing endpoint either', async () => {
    const { SASToken } = await zones.credential(ORG);
    // The landing endpoint (the local Event Grid) refuses any path outside the landing account.
    const viaLanding = `${zones.stack.landing.blobEndpoint.replace(/\/devlandingstore1$/, '/devstoreaccount1')}/objects?restype=container&comp=list&${SASToken}`;
    const res = await fetch(viaLanding);
    expect([400, 403]).toContain(res.status);
  });
});
