import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyVaultKekClient } from '../../shared/vault/kek-client.js';
import { startVaultFixture, type VaultFixture } from './support.js';

/**
 * A cold instance's first vault calls arrive together (every request that needs a root key at
 * once). The Key Vault SDK's challenge policy sends a client's first request without its body to
 * learn the challenge; a second request sent meanwhile completes the challenge first, and the
 * first is then resent with the token but still without its body: the vault answers 400 ("The
 * value parameter must be base64url") and the unwrap fails. The KEK client lets a new client's
 * first call go alone.
 */
describe('the KEK client, cold: many first calls at once on a new client', () => {
  let fixture: VaultFixture;
  beforeAll(async () => {
    fixture = await startVaultFixture();
  });
  afterAll(async () => {
    await fixture?.stop();
  });

  it('answers both of two first unwraps when the first one (sent without its body, for the challenge) is answered last', async () => {
    const { ref } = await fixture.newKek();
    const a = randomBytes(32);
    const b = randomBytes(32);
    const wa = await fixture.vault.wrapKey(ref, a);
    const wb = await fixture.vault.wrapKey(ref, b);
    const cold = createKeyVaultKekClient({ credential: fixture.credential, allowLoopback: true });
    // The next unwrap to reach the vault (the first, body-less challenge request) is held 500 ms.
    fixture.stack.vault.injectFault({ kind: 'stall', count: 1, ms: 500, operations: ['unwrapKey'] });
    const [ra, rb] = await Promise.all([cold.unwrapKey(wa.kek, wa.wrappedKey), cold.unwrapKey(wb.kek, wb.wrappedKey)]);
    expect(Buffer.from(ra).equals(a)).toBe(true);
    expect(Buffer.from(rb).equals(b)).toBe(true);
  });

  it('answers every one of 24 concurrent first unwraps and wraps, on each of five fresh clients', async () => {
    const { ref } = await fixture.newKek();
    const wrapped = await Promise.all(
      Array.from({ length: 24 }, async () => {
        const key = randomBytes(32);
        return { key, wrapped: await fixture.vault.wrapKey(ref, key) };
      }),
    );
    for (let round = 0; round < 5; round++) {
      const cold = createKeyVaultKekClient({ credential: fixture.credential, allowLoopback: true });
      const results = await Promise.allSettled([
        ...wrapped.map(({ wrapped: w }) => cold.unwrapKey(w.kek, w.wrappedKey)),
        ...wrapped.slice(0, 8).map(({ key }) => cold.wrapKey(ref, key)),
      ]);
      const failed = results
        .filter((r) => r.status === 'rejected')
        .map((r) => String((r).reason));
      expect(failed, `round ${round}`).toEqual([]);
      results.slice(0, wrapped.length).forEach((r, i) => {
        expect(
          Buffer.from((r as PromiseFulfilledResult<Uint8Array>).value).equals(wrapped[i]?.key ?? Buffer.alloc(0)),
        ).toBe(true);
      });
    }
  });
});
