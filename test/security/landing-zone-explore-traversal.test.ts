import { ContainerClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';
import { useZoneStack } from './support/zone-stack.js';

const ATTACKER = 'CF16A5ATTK@AdobeOrg';
const VICTIM = 'CF16A5VICT@AdobeOrg';
const EXPLORE = '/data/foundation/flowservice/connectionSpecs/26f526f2-58f4-4712-961d-e41bf1ccc0e8/explore';

/**
 * Attack: the explore API's `object` path used to climb out of the caller's zone (`..`, encoded
 * separators, absolute paths, backslashes, control characters, very long paths) or to name the
 * victim's container. Malformed paths get 400 INVALID_REQUEST; a container name is only ever read
 * as a folder inside the caller's own zone.
 */
describe('attack: path traversal through the landing-zone explore API', () => {
  const zones = useZoneStack();

  it('refuses hostile paths with 400 and never lists another zone', async () => {
    const victim = await zones.credential(VICTIM);
    await new ContainerClient(victim.SASUri).getBlockBlobClient('secret/payroll.csv.gpg').uploadData(Buffer.from('secret'));
    const mine = await zones.credential(ATTACKER);
    const explore = (object: string) => zones.api(ATTACKER).request('GET', `${EXPLORE}?objectType=folder&object=${encodeURIComponent(object)}`);
    const hostile = [
      '..',
      `${mine.containerName}/../${victim.containerName}/`,
      'dlz-user-container/secret/../../',
      'a%2F..%2F..',
      'a%2fb',
      'a%5Cb',
      '/secret/',
      `/${victim.containerName}/secret/`,
      'secret\\..\\..',
      'secret/\u0000/',
      'a//b',
      './secret/',
      'x'.repeat(1025),
    ];
    for (const object of hostile) {
      const res = await explore(object);
      expect(res.status, JSON.stringify(object.slice(0, 40))).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('INVALID_REQUEST');
    }
    for (const object of [`${victim.containerName}/`, `${victim.containerName}/secret/`]) {
      const res = await explore(object);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual([]);
    }
  });
});
