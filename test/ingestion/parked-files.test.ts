import type { TableClient } from '@azure/data-tables';
import { describe, expect, it } from 'vitest';
import type { IngestOutcome } from '../../shared/ingestion/ingest-landed-file.js';
import {
  dueParkedFiles,
  FIRST_PARK_DELAY_MS,
  listParkedFiles,
  MAX_PARK_DELAY_MS,
  parkDelayMs,
  parkFile,
  unparkFile,
  type ParkedFile,
} from '../../shared/ingestion/parked-files.js';
import { retryParkedFiles } from '../../shared/ingestion/retry-parked-files.js';
import { MemoryTableService } from '../fakes/memory-tables.js';

const ORG = 'CF0PA4KED0@AdobeOrg';
const T0 = new Date('2026-11-23T10:00:00.000Z');
const at = (ms: number): Date => new Date(T0.getTime() + ms);
/** A landing zone's container: the blob's name in it is relative, its owner a stored mapping. */
const ZONE = 'dlz-abcdefghijklmnopqrstuvwxyz';
const file = (name: string, orgId = ORG) => ({ orgId, container: ZONE, blobName: `in/${name}`, etag: '"0x8DE2A1B3C4D5E6F"' });

describe('parking delay', () => {
  it('doubles from 15 s per attempt up to 5 min, with 50-100 % jitter', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => parkDelayMs(n, () => 1))).toEqual([15_000, 30_000, 60_000, 120_000, 240_000, MAX_PARK_DELAY_MS]);
    expect(parkDelayMs(1, () => 0)).toBe(FIRST_PARK_DELAY_MS / 2);
    expect(parkDelayMs(40, () => 0.5)).toBe(MAX_PARK_DELAY_MS * 0.75);
  });
});

// Over the in-memory Table fake (test/contracts/tables.contract.ts holds it to Azurite's answers).
describe('files parked while Key Vault is unavailable', () => {
  const newTable = async (): Promise<TableClient> => {
    const table = new MemoryTableService().client('ingestparked');
    await table.createTable();
    return table;
  };

  it('parks a blob once, counts each further attempt and pushes its next attempt back', async () => {
    const table = await newTable();
    const blob = file('a b/ü?#.csv.gpg');
    const first = await parkFile(table, blob, T0, () => 1);
    expect(first).toMatchObject({ ...blob, since: T0.toISOString(), attempts: 1, nextAttemptAt: at(15_000).toISOString() });
    const second = await parkFile(table, blob, at(20_000), () => 1);
    expect(second).toMatchObject({ since: T0.toISOString(), attempts: 2, nextAttemptAt: at(50_000).toISOString() });
    expect(await listParkedFiles(table, ORG)).toEqual([second]);

    expect(await dueParkedFiles(table, at(49_999), 10)).toEqual([]);
    expect(await dueParkedFiles(table, at(50_000), 10)).toEqual([second]);
    await unparkFile(table, blob);
    await unparkFile(table, blob); // idempotent
    expect(await listParkedFiles(table, ORG)).toEqual([]);
  });

  it('lists due files across orgs, at most the limit', async () => {
    const table = await newTable();
    await parkFile(table, file('1.csv.gpg'), T0, () => 0);
    await parkFile(table, file('2.csv.gpg', 'CF0PA4KED1@AdobeOrg'), T0, () => 0);
    await parkFile(table, file('late.csv.gpg'), at(60_000), () => 0);
    expect((await dueParkedFiles(table, at(10_000), 10)).map((f) => f.blobName).sort()).toEqual([
      file('1.csv.gpg').blobName,
      file('2.csv.gpg', 'CF0PA4KED1@AdobeOrg').blobName,
    ]);
    expect(await dueParkedFiles(table, at(10_000), 1)).toHaveLength(1);
  });

  it('retries due files: settles what ingests, keeps what still waits, re-parks what throws', async () => {
    const table = await newTable();
    const names = ['ok.csv.gpg', 'vault.csv.gpg', 'cmk.csv.gpg', 'boom.csv.gpg'];
    for (const name of names) await parkFile(table, file(name), T0, () => 0);
    const now = at(10_000);
    const outcomes: Record<string, () => Promise<IngestOutcome>> = {
      'ok.csv.gpg': () => Promise.resolve({ kind: 'done', runs: [] }),
      'vault.csv.gpg': async () => {
        await parkFile(table, file('vault.csv.gpg'), now, () => 0); // what the ingestion's wait hook does
        return { kind: 'waiting', reason: 'key-vault-unavailable' };
      },
      'cmk.csv.gpg': () => Promise.resolve({ kind: 'waiting', reason: 'cmk-access-revoked' }),
      'boom.csv.gpg': () => Promise.reject(new Error('storage unavailable')),
    };
    const summary = await retryParkedFiles({
      table,
      clock: { now: () => now.getTime() },
      random: () => 0,
      ingest: (f: ParkedFile) => (outcomes[f.blobName.split('/').pop() ?? ''] ?? (() => Promise.reject(new Error('unexpected'))))(),
    });
    expect(summary).toEqual({ tried: 4, settled: 2, stillWaiting: 2, stoppedEarly: false });
    const left = await listParkedFiles(table, ORG);
    expect(left.map((f) => [f.blobName.split('/').pop(), f.attempts, f.nextAttemptAt]).sort()).toEqual([
      ['boom.csv.gpg', 2, at(10_000 + 15_000).toISOString()],
      ['vault.csv.gpg', 2, at(10_000 + 15_000).toISOString()],
    ]);
    // Nothing is due again before its backoff.
    expect((await retryParkedFiles({ table, clock: { now: () => now.getTime() }, ingest: () => Promise.reject(new Error('not due')) })).tried).toBe(0);
  });

  it('stops a cycle early while the vault still does not answer', async () => {
    const table = await newTable();
    for (let i = 0; i < 20; i++) await parkFile(table, file(`f${i}.csv.gpg`), T0, () => 0);
    let calls = 0;
    const summary = await retryParkedFiles({
      table,
      clock: { now: () => at(10_000).getTime() },
      ingest: () => {
        calls += 1;
        return Promise.resolve({ kind: 'waiting', reason: 'key-vault-unavailable' });
      },
    });
    expect(summary.stoppedEarly).toBe(true);
    // Three in a row stop it; the other workers may each have one attempt in flight.
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(calls).toBeLessThanOrEqual(6);
    expect(await listParkedFiles(table, ORG)).toHaveLength(20);
  });
});
