import { describe, expect, it } from 'vitest';
import { CLIENT_KEY_CACHE_MS, createClientKeyCache } from '../../shared/hpke/client-key-cache.js';
import { CLIENT_KEY_REPLACE_DELAY_MS, deleteClientKey, putClientKey, resolveClientKey, type ClientKeyDeps } from '../../shared/hpke/client-keys.js';
import { generateClientKeyPair } from '../../shared/hpke/client.js';
import type { Clock } from '../../shared/core/clock.js';
import { MemoryTableService } from '../fakes/memory-tables.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');

class MovableClock implements Clock {
  constructor(public at: number) {}
  now(): number {
    return this.at;
  }
}

// Over the in-memory Table fake (test/contracts/tables.contract.ts holds it to Azurite's answers).
describe('resolveClientKey with the cache (two instances over one table)', () => {
  /** Two instances: each its own cache and table client, over one shared table. */
  async function instances(clock: Clock): Promise<[ClientKeyDeps, ClientKeyDeps]> {
    const service = new MemoryTableService();
    await service.client('hpkeclientkeys').createTable();
    const deps = (): ClientKeyDeps => {
      const client = service.client('hpkeclientkeys');
      return { table: () => Promise.resolve(client), clock, cache: createClientKeyCache() };
    };
    return [deps(), deps()];
  }
  const ORG = 'CF0990CACHE@AdobeOrg';
  const publicKey = async (keyId: number) => Buffer.from((await generateClientKeyPair(keyId)).publicKey).toString('base64url');
  const b64 = (k: { publicKey: Uint8Array }) => Buffer.from(k.publicKey).toString('base64url');

  it('applies a delete made through this instance at once, and one made through another within CLIENT_KEY_CACHE_MS', async () => {
    const clock = new MovableClock(T0);
    const [a, b] = await instances(clock);
    await putClientKey(a, ORG, 1, { kemId: 32, publicKey: await publicKey(1) });
    await putClientKey(a, ORG, 2, { kemId: 32, publicKey: await publicKey(2) });
    expect((await resolveClientKey(a, ORG, 1)).keyId).toBe(1);
    expect((await resolveClientKey(b, ORG, 2)).keyId).toBe(2);

    await deleteClientKey(a, ORG, 1);
    await expect(resolveClientKey(a, ORG, 1)).rejects.toMatchObject({ code: 'HPKE_NO_CLIENT_KEY' });

    await deleteClientKey(a, ORG, 2);
    // Instance b read key 2 before the delete: it may answer with it until its entry expires.
    clock.at = T0 + CLIENT_KEY_CACHE_MS;
    await expect(resolveClientKey(b, ORG, 2)).rejects.toMatchObject({ code: 'HPKE_NO_CLIENT_KEY' });
  });

  it('answers a registration made through this instance at once', async () => {
    const clock = new MovableClock(T0);
    const [a] = await instances(clock);
    await expect(resolveClientKey(a, ORG, undefined)).rejects.toMatchObject({ code: 'HPKE_NO_CLIENT_KEY' });
    const key = await publicKey(3);
    await putClientKey(a, ORG, 3, { kemId: 32, publicKey: key });
    expect(b64(await resolveClientKey(a, ORG, undefined))).toBe(key);
  });

  it('switches to a pending replacement exactly at its effective time, even with the old key cached', async () => {
    const clock = new MovableClock(T0);
    const [a, b] = await instances(clock);
    const first = await publicKey(5);
    const second = await publicKey(5);
    await putClientKey(a, ORG, 5, { kemId: 32, publicKey: first });
    clock.at = T0 + 1000;
    const replaced = await putClientKey(a, ORG, 5, { kemId: 32, publicKey: second });
    expect(replaced.status).toBe(202);
    const effective = T0 + 1000 + CLIENT_KEY_REPLACE_DELAY_MS;
    clock.at = effective - 1;
    expect(b64(await resolveClientKey(b, ORG, 5))).toBe(first);
    expect(b64(await resolveClientKey(b, ORG, undefined))).toBe(first);
    clock.at = effective;
    expect(b64(await resolveClientKey(b, ORG, 5))).toBe(second);
    expect(b64(await resolveClientKey(b, ORG, undefined))).toBe(second);
  });
});
