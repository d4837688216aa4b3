import { describe, expect, it } from 'vitest';
import { createClientKeyCache } from '../../shared/hpke/client-key-cache.js';
import { CLIENT_KEY_REPLACE_DELAY_MS, deleteClientKey, putClientKey, resolveClientKey, type ClientKeyDeps } from '../../shared/hpke/client-keys.js';
import { generateClientKeyPair } from '../../shared/hpke/client.js';
import type { Clock } from '../../shared/core/clock.js';
import { MemoryTableService } from '../fakes/memory-tables.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const ORG = 'CF0991KEYS@AdobeOrg';

class MovableClock implements Clock {
  constructor(public at: number) {}
  now(): number {
    return this.at;
  }
}

// Over the in-memory Table fake (test/contracts/tables.contract.ts holds it to Azurite's answers).
describe('resolveClientKey: which client key a response is encrypted to', () => {
  /** Deps over a fresh table, with and without the per-instance cache. */
  async function deps(clock: Clock): Promise<ClientKeyDeps[]> {
    const client = new MemoryTableService().client('hpkeclientkeys');
    await client.createTable();
    return [
      { table: () => Promise.resolve(client), clock },
      { table: () => Promise.resolve(client), clock, cache: createClientKeyCache() },
    ];
  }
  const publicKey = async (keyId: number) => Buffer.from((await generateClientKeyPair(keyId)).publicKey).toString('base64url');
  const b64 = (k: { publicKey: Uint8Array }) => Buffer.from(k.publicKey).toString('base64url');

  it('uses the newest active key when no x-hpke-client-key-id names one, whatever the key ids', async () => {
    const clock = new MovableClock(T0);
    const [plain, cached] = await deps(clock);
    if (plain === undefined || cached === undefined) throw new Error('no deps');
    const older = await publicKey(200);
    const newer = await publicKey(3);
    await putClientKey(plain, ORG, 200, { kemId: 32, publicKey: older });
    clock.at = T0 + 1000;
    // A lower id registered later: "newest" is by registration time, not by id.
    await putClientKey(plain, ORG, 3, { kemId: 32, publicKey: newer });
    for (const d of [plain, cached]) {
      const chosen = await resolveClientKey(d, ORG, undefined);
      expect(chosen.keyId).toBe(3);
      expect(b64(chosen)).toBe(newer);
      // Naming a key still picks that one.
      expect(b64(await resolveClientKey(d, ORG, 200))).toBe(older);
    }
  });

  it('falls back to the next newest once the newest is deleted, and to a replacement once it takes effect', async () => {
    const clock = new MovableClock(T0);
    const [d] = await deps(clock);
    if (d === undefined) throw new Error('no deps');
    await putClientKey(d, ORG, 1, { kemId: 32, publicKey: await publicKey(1) });
    clock.at = T0 + 1000;
    await putClientKey(d, ORG, 2, { kemId: 32, publicKey: await publicKey(2) });
    expect((await resolveClientKey(d, ORG, undefined)).keyId).toBe(2);
    await deleteClientKey(d, ORG, 2);
    expect((await resolveClientKey(d, ORG, undefined)).keyId).toBe(1);

    // Replacing key 1 makes it the newest only from the replacement's effective time on.
    clock.at = T0 + 2000;
    await putClientKey(d, ORG, 3, { kemId: 32, publicKey: await publicKey(3) });
    const replacement = await publicKey(1);
    expect((await putClientKey(d, ORG, 1, { kemId: 32, publicKey: replacement })).status).toBe(202);
    expect((await resolveClientKey(d, ORG, undefined)).keyId).toBe(3);
    clock.at = T0 + 2000 + CLIENT_KEY_REPLACE_DELAY_MS;
    const chosen = await resolveClientKey(d, ORG, undefined);
    expect(chosen.keyId).toBe(1);
    expect(b64(chosen)).toBe(replacement);
  });

  it('refuses an org without a client key with HPKE_NO_CLIENT_KEY', async () => {
    const [d] = await deps(new MovableClock(T0));
    if (d === undefined) throw new Error('no deps');
    await expect(resolveClientKey(d, ORG, undefined)).rejects.toMatchObject({ code: 'HPKE_NO_CLIENT_KEY' });
  });
});
