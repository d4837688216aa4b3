import { ContainerClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';
import { storageStatus, useZoneStack } from './support/zone-stack.js';

const ORG = 'CF16A4ATTK@AdobeOrg';
const OTHER = 'CF16A4OTHR@AdobeOrg';

/**
 * Attack: editing a zone SAS to widen it: dropping the policy (`si`) for explicit permissions and
 * a far expiry, naming another zone's policy, or turning the container SAS into a blob-service
 * one. The signature covers every field, so storage refuses each edit.
 */
describe('attack: a tampered landing-zone SAS', () => {
  const zones = useZoneStack();

  it('is refused whatever field is edited', async () => {
    const mine = await zones.credential(ORG);
    const theirs = await zones.credential(OTHER);
    const original = new URLSearchParams(mine.SASToken);
    const edits: Record<string, (p: URLSearchParams) => void> = {
      'no policy, own permissions and expiry': (p) => {
        p.delete('si');
        p.set('sp', 'racwdl');
        p.set('se', '2099-01-01T00:00:00Z');
      },
      "another zone's policy": (p) => p.set('si', new URLSearchParams(theirs.SASToken).get('si') ?? ''),
      'a made-up policy': (p) => p.set('si', 'dlz-00000000-0000-4000-8000-000000000000'),
      'extra permissions beside the policy': (p) => p.set('sp', 'racwdl'),
    };
    for (const [name, edit] of Object.entries(edits)) {
      const params = new URLSearchParams(original);
      edit(params);
      const zone = new ContainerClient(`${zones.stack.landing.blobEndpoint}/${mine.containerName}?${params.toString()}`);
      expect(await storageStatus(zone.getBlockBlobClient('evil.csv').uploadData(Buffer.from('x'))), name).toBe(403);
    }
    // The unedited credential still works: the refusals above are the edits'.
    expect(await storageStatus(new ContainerClient(mine.SASUri).getBlockBlobClient('ok.csv').uploadData(Buffer.from('x')))).toBe(200);
  });
});
