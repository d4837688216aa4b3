import { randomBytes } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors.js';
import { REPLAY_RETENTION_MS, createReplayCache, type ReplayCache } from '../../shared/hpke/replay-cache.js';
import { startAzurite, type AzuriteInstance } from '../../local/azurite.js';

const NOW = Date.parse('2030-01-01T00:00:00Z');
const SENT_AT = NOW / 1000;

/** What each call settled to: 'ok' or the error code. */
async function outcomes(calls: Promise<void>[]): Promise<string[]> {
  return Promise.all(calls.map((c) => c.then(() => 'ok', (err: unknown) => (err instanceof AppError ? err.code : String(err)))));
}

describe('HPKE replay cache (real Azurite, several instances over one table)', () => {
  let azurite: AzuriteInstance;
  beforeAll(async () => {
    azurite = await startAzurite();
  });
  afterAll(async () => {
    await azurite.stop();
  });

  /** A table client counting the storage requests made through it, and a cache over it. */
  async function instance(tableName: string): Promise<{ cache: ReplayCache; requests: () => number }> {
    let requests = 0;
    const client = TableClient.fromConnectionString(azurite.connectionString, tableName, {
      allowInsecureConnection: true,
      additionalPolicies: [
        {
          position: 'perCall',
          policy: {
            name: 'count',
            sendRequest: (req, next) => {
              requests += 1;
              return next(req);
            },
          },
        },
      ],
    });
    await client.createTable();
    return { cache: createReplayCache(() => Promise.resolve(client)), requests: () => requests };
  }
  const table = () => `replay${randomBytes(4).toString('hex')}`;

  it('purges the sightings past their retention, and only those (the filter compares a Double, as expiresAt is stored)', async () => {
    const { cache } = await instance(table());
    const old = randomBytes(32);
    const recent = randomBytes(32);
    await cache.remember(7, old, NOW, SENT_AT);
    await cache.remember(7, recent, NOW + REPLAY_RETENTION_MS / 2, SENT_AT + REPLAY_RETENTION_MS / 2000);
    expect(await cache.purge(NOW + REPLAY_RETENTION_MS + 1)).toBe(1);
    // The recent one is still remembered; the purged one is a new request again.
    await expect(cache.remember(7, recent, NOW + REPLAY_RETENTION_MS + 2, SENT_AT + REPLAY_RETENTION_MS / 2000)).rejects.toMatchObject({ code: 'HPKE_REPLAY' });
    expect(await cache.purge(NOW + REPLAY_RETENTION_MS + 3)).toBe(0);
  });

  it('refuses a replayed enc with HPKE_REPLAY', async () => {
    const { cache } = await instance(table());
    const enc = randomBytes(32);
    await cache.remember(7, enc, NOW, SENT_AT);
    await expect(cache.remember(7, enc, NOW + 1000, SENT_AT)).rejects.toMatchObject({ code: 'HPKE_REPLAY' });
    // The same enc to another key id is another request.
    await cache.remember(8, enc, NOW, SENT_AT);
  });

  it('accepts each of a burst of distinct requests once and refuses every replay among them, stored in fewer requests than rows', async () => {
    const { cache, requests } = await instance(table());
    const encs = Array.from({ length: 60 }, () => randomBytes(32));
    const before = requests();
    const first = await outcomes(encs.map((enc) => cache.remember(7, enc, NOW, SENT_AT)));
    expect(first).toEqual(encs.map(() => 'ok'));
    expect(requests() - before).toBeLessThan(encs.length);
    // Replays, some alone and some batched with new requests: only the new ones pass.
    const fresh = Array.from({ length: 10 }, () => randomBytes(32));
    const again = await outcomes([...encs.slice(0, 20), ...fresh].map((enc) => cache.remember(7, enc, NOW + 5000, SENT_AT)));
    expect(again.slice(0, 20)).toEqual(Array.from({ length: 20 }, () => 'HPKE_REPLAY'));
    expect(again.slice(20)).toEqual(fresh.map(() => 'ok'));
  });

  it('lets exactly one of two instances accept the same request sent to both at once', async () => {
    const name = table();
    const a = await instance(name);
    const b = await instance(name);
    for (let round = 0; round < 10; round++) {
      const enc = randomBytes(32);
      // Each instance also has other requests in flight, so the duplicates travel in batches.
      const others = Array.from({ length: 4 }, () => randomBytes(32));
      const results = await outcomes([
        ...others.slice(0, 2).map((e) => a.cache.remember(7, e, NOW, SENT_AT)),
        a.cache.remember(7, enc, NOW, SENT_AT),
        b.cache.remember(7, enc, NOW, SENT_AT),
        ...others.slice(2).map((e) => b.cache.remember(7, e, NOW, SENT_AT)),
      ]);
      expect(results.filter((r, i) => (i === 2 || i === 3) && r === 'ok')).toHaveLength(1);
      expect([results[2], results[3]].sort()).toEqual(['HPKE_REPLAY', 'ok']);
      expect([results[0], results[1], results[4], results[5]]).toEqual(['ok', 'ok', 'ok', 'ok']);
    }
  });

  it('refuses the same request twice in one batch once', async () => {
    const { cache } = await instance(table());
    const enc = randomBytes(32);
    const results = await outcomes([cache.remember(7, randomBytes(32), NOW, SENT_AT), cache.remember(7, enc, NOW, SENT_AT), cache.remember(7, enc, NOW, SENT_AT)]);
    expect(results[0]).toBe('ok');
    expect([results[1], results[2]].sort()).toEqual(['HPKE_REPLAY', 'ok']);
  });

  it('takes over a row past its retention as a new sighting, for one instance only', async () => {
    const name = table();
    const a = await instance(name);
    const b = await instance(name);
    const enc = randomBytes(32);
    await a.cache.remember(7, enc, NOW, SENT_AT);
    const later = NOW + REPLAY_RETENTION_MS + 1;
    const results = await outcomes([a.cache.remember(7, enc, later, SENT_AT), b.cache.remember(7, enc, later, SENT_AT)]);
    expect(results.sort()).toEqual(['HPKE_REPLAY', 'ok']);
  });
});
