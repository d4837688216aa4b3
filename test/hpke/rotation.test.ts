import { randomBytes } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptRequest } from '../../shared/hpke/client.js';
import { createHpkeServices, type HpkeServices } from '../../shared/hpke/hpke-services.js';
import { NEXT_LEAD_MS, RETIRING_GRACE_MS, planRotation } from '../../shared/hpke/key-lifecycle.js';
import { openRequest } from '../../shared/hpke/open-request.js';
import { rotateServerKeys } from '../../shared/hpke/server-keys.js';
import { createTableFactory } from '../../shared/storage/tenant-table.js';
import type { Clock } from '../../shared/core/clock.js';
import { buildStore, startVaultFixture, type VaultFixture } from '../vault/support.js';

const DAY = 86_400_000;
const LIFETIME = 365 * DAY;

class MovableClock implements Clock {
  constructor(public at: number) {}
  now(): number {
    return this.at;
  }
}

describe('HPKE server key rotation (fake clock, real Azurite and key hierarchy)', () => {
  let fixture: VaultFixture;
  beforeAll(async () => {
    fixture = await startVaultFixture();
  });
  afterAll(async () => {
    await fixture.stop();
  });

  async function services(clock: Clock, prefix = `h${randomBytes(4).toString('hex')}`): Promise<HpkeServices> {
    const { ref } = await fixture.newKek();
    const { store } = buildStore(fixture, { table: await fixture.newTable(), kek: ref });
    const tables = createTableFactory((name) => TableClient.fromConnectionString(fixture.stack.azurite.connectionString, `${prefix}${name}`, { allowInsecureConnection: true }));
    return createHpkeServices({ tables, objects: store }, { clock, lifetimeMs: LIFETIME });
  }

  async function send(hpke: HpkeServices, keyId: number) {
    const key = (await hpke.ring.published()).find((k) => k.keyId === keyId);
    if (key === undefined) throw new Error(`key ${keyId} not published`);
    const ts = Math.floor(hpke.clock.now() / 1000);
    const req = await encryptRequest({ serverKey: key, method: 'POST', url: '/x', body: Buffer.from('{}'), timestamp: ts, org: 'ROTATE001@AdobeOrg', sandbox: 'prod' });
    return { body: req.body, timestamp: String(ts) };
  }

  const open = (hpke: HpkeServices, req: { body: Uint8Array; timestamp: string }) =>
    openRequest({ keys: hpke.ring, replay: hpke.replay, clock: hpke.clock }, { method: 'POST', path: '/x', timestamp: req.timestamp, body: req.body, format: '2', org: 'ROTATE001@AdobeOrg', sandbox: 'prod' });

  it('plans successors without gaps or overlaps', () => {
    const a = { keyId: 0, activeFrom: 0, activeUntil: LIFETIME };
    expect(planRotation([], 5, LIFETIME).create).toEqual({ activeFrom: 5, activeUntil: 5 + LIFETIME });
    expect(planRotation([a], LIFETIME - NEXT_LEAD_MS - 1, LIFETIME).create).toBeUndefined();
    expect(planRotation([a], LIFETIME - NEXT_LEAD_MS, LIFETIME).create).toEqual({ activeFrom: LIFETIME, activeUntil: 2 * LIFETIME });
  });

  it('publishes the successor 30 days ahead, accepts the old key during the grace and refuses it after', async () => {
    const clock = new MovableClock(Date.parse('2030-01-01T00:00:00Z'));
    const hpke = await services(clock);
    const first = await rotateServerKeys(hpke.serverKeys, LIFETIME);
    const a = first.created?.keyId ?? -1;
    expect(a).toBeGreaterThanOrEqual(0);
    const activeUntil = Date.parse(first.created?.activeUntil ?? '');
    expect((await rotateServerKeys(hpke.serverKeys, LIFETIME)).created).toBeUndefined();
    hpke.ring.invalidate();
    expect((await open(hpke, await send(hpke, a))).suite.aead.id).toBe(2);

    clock.at = activeUntil - NEXT_LEAD_MS + DAY;
    const second = await rotateServerKeys(hpke.serverKeys, LIFETIME);
    const b = second.created?.keyId ?? -1;
    expect(b).toBe((a + 1) % 256);
    hpke.ring.invalidate();
    expect((await hpke.ring.published()).map((k) => [k.keyId, k.status])).toEqual([[b, 'next'], [a, 'active']]);
    const early = await send(hpke, b);
    await open(hpke, early);

    // A request built just before the switch, arriving just after, still opens.
    clock.at = activeUntil - 1000;
    const inFlight = await send(hpke, a);
    clock.at = activeUntil + 1000;
    await open(hpke, inFlight);
    expect((await hpke.ring.published()).map((k) => [k.keyId, k.status])).toEqual([[b, 'active'], [a, 'retiring']]);

    clock.at = activeUntil + RETIRING_GRACE_MS - DAY;
    await open(hpke, await send(hpke, a));
    const lastMoment = await send(hpke, a);

    clock.at = activeUntil + RETIRING_GRACE_MS + 301_000;
    await expect(open(hpke, { ...lastMoment, timestamp: String(Math.floor(clock.at / 1000)) })).rejects.toMatchObject({ code: 'HPKE_UNKNOWN_KEY', keyIds: [b] });
    const third = await rotateServerKeys(hpke.serverKeys, LIFETIME);
    expect(third.dropped).toEqual([a]);
  });

  it('several instances rotating at once agree on one key', async () => {
    const clock = new MovableClock(Date.parse('2031-01-01T00:00:00Z'));
    const prefix = `h${randomBytes(4).toString('hex')}`;
    const instances = await Promise.all([services(clock, prefix), services(clock, prefix), services(clock, prefix)]);
    await Promise.all(instances.map((s) => rotateServerKeys(s.serverKeys, LIFETIME)));
    const sets = await Promise.all(instances.map(async (s) => (await s.ring.published()).map((k) => `${k.keyId}:${k.publicKey}`)));
    expect(sets[0]).toHaveLength(1);
    expect(sets[1]).toEqual(sets[0]);
    expect(sets[2]).toEqual(sets[0]);
  });
});
