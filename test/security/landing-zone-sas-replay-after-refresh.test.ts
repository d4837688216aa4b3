import { ContainerClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';
import { everyZoneOperation, useZoneStack } from './support/zone-stack.js';

const ORG = 'CF16A3ATTK@AdobeOrg';

/**
 * Attack: a SAS that leaked (a laptop, a log, a departed contractor) is used after the tenant
 * refreshed its credentials. The refresh replaced the stored access policy the SAS names, so
 * storage refuses it for everything, however often it is replayed.
 */
describe('attack: replaying a landing-zone SAS after a refresh', () => {
  const zones = useZoneStack();

  it('is refused for every operation, while the new credential works', async () => {
    const leaked = await zones.credential(ORG);
    await new ContainerClient(leaked.SASUri).getBlockBlobClient('victim/secret.csv.gpg').uploadData(Buffer.from('secret'));
    const fresh = await zones.refresh(ORG);
    expect(await everyZoneOperation(new ContainerClient(leaked.SASUri))).toEqual({ write: 403, read: 403, list: 403, delete: 403 });
    expect(await everyZoneOperation(new ContainerClient(leaked.SASUri))).toEqual({ write: 403, read: 403, list: 403, delete: 403 });
    expect((await new ContainerClient(fresh.SASUri).getBlobClient('victim/secret.csv.gpg').downloadToBuffer()).toString()).toBe('secret');
  });
});
