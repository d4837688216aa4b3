import { ContainerClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';
import { everyZoneOperation, useZoneStack } from './support/zone-stack.js';

const ATTACKER = 'CF16A1ATTK@AdobeOrg';
const VICTIM = 'CF16A1VICT@AdobeOrg';

/**
 * Attack: a tenant holding its own zone's SAS points it at another tenant's zone container (the
 * victim's container name is not secret to someone who guesses or sees it). Storage checks the
 * signature against the container in the path, so every operation is refused; the victim's file
 * stays unread and in place.
 */
describe('attack: a landing-zone SAS used on another zone', () => {
  const zones = useZoneStack();

  it('is refused by storage for write, read, list and delete', async () => {
    const victim = await zones.credential(VICTIM);
    await new ContainerClient(victim.SASUri).getBlockBlobClient('victim/secret.csv.gpg').uploadData(Buffer.from('secret'));
    const mine = await zones.credential(ATTACKER);
    const crossed = new ContainerClient(`${zones.stack.landing.blobEndpoint}/${victim.containerName}?${mine.SASToken}`);
    expect(await everyZoneOperation(crossed)).toEqual({ write: 403, read: 403, list: 403, delete: 403 });
    const kept = await new ContainerClient(victim.SASUri).getBlobClient('victim/secret.csv.gpg').downloadToBuffer();
    expect(kept.toString()).toBe('secret');
    expect(await new ContainerClient(victim.SASUri).getBlobClient('attack/written.csv.gpg').exists()).toBe(false);
  });

  it("is refused for the victim's other sandbox too", async () => {
    const mine = await zones.credential(ATTACKER);
    await zones.api(VICTIM).json('POST', '/data/foundation/sandbox-management/sandboxes', { name: 'dev', title: 'dev', type: 'development' });
    const victimDev = await zones.credential(VICTIM, 'dev');
    expect(victimDev.containerName).not.toBe((await zones.credential(VICTIM)).containerName);
    const crossed = new ContainerClient(`${zones.stack.landing.blobEndpoint}/${victimDev.containerName}?${mine.SASToken}`);
    expect((await everyZoneOperation(crossed)).write).toBe(403);
  });
});
