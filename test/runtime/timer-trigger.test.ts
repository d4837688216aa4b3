import { BlobServiceClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';
import { parseSchedule } from '../../local/runtime/timer-trigger.js';
import { until, useFixtureApp } from '../support/fixture-app.js';

interface Entry {
  fn: string;
  pid: number;
  start: number;
  end: number;
  timer: { isPastDue: boolean; schedule: { adjustForDST: boolean }; scheduleStatus: { last: string; next: string; lastUpdated: string } | null };
}

describe('parseSchedule', () => {
  it('reads 6-field NCRONTAB in UTC and constant hh:mm:ss intervals', () => {
    const at = new Date('2025-03-01T10:15:30.500Z');
    expect(parseSchedule('0 */5 * * * *').next(at).toISOString()).toBe('2025-03-01T10:20:00.000Z');
    expect(parseSchedule('*/1 * * * * *').next(at).toISOString()).toBe('2025-03-01T10:15:31.000Z');
    expect(parseSchedule('0 30 9 * * 1-5', 'Europe/Paris').next(at).toISOString()).toBe('2025-03-03T08:30:00.000Z');
    const constant = parseSchedule('00:00:10');
    expect(constant.adjustForDst).toBe(false);
    expect(constant.next(at).toISOString()).toBe('2025-03-01T10:15:40.500Z');
  });

  it('rejects a malformed expression', () => {
    expect(() => parseSchedule('every minute')).toThrow();
  });
});

describe('timer trigger (runtime child process on Azurite)', () => {
  const app = useFixtureApp<Entry>('timer-app', { TICK_SCHEDULE: '*/1 * * * * *', CIPHERFLOW_TIMER_LOCK_POLL_MS: '300' });
  const { start, records } = app;

  it('fires on its schedule, runs on startup once, and never overlaps a slow invocation', async () => {
    const runtime = await start({ CIPHERFLOW_TEST_TICK_MS: '1500' });
    await until(async () => (await records('tick')).length >= 3, 'three ticks');
    await runtime.stop();

    const ticks = await records('tick');
    expectNoOverlap(ticks);
    for (const tick of ticks) {
      expect(tick.timer).toEqual({ schedule: { adjustForDST: true }, scheduleStatus: null, isPastDue: false });
    }
    const startup = await records('startup');
    expect(startup).toHaveLength(1);
    expect(startup[0]?.timer.isPastDue).toBe(false);
    // Monitored (yearly schedule): the status the host keeps is handed to the function.
    expect(startup[0]?.timer.scheduleStatus?.next).toMatch(/-01-01T00:00:00/);
  });

  it('runs a timer in one runtime instance at a time; another takes over when it stops', async () => {
    const a = await start({ CIPHERFLOW_TEST_TICK_MS: '700' });
    await until(async () => (await records('tick')).length >= 1, 'first tick');
    const b = await start({ CIPHERFLOW_TEST_TICK_MS: '700' });
    const before = (await records('tick')).length;
    await until(async () => (await records('tick')).length >= before + 4, 'four more ticks with two instances');
    const shared = await records('tick');
    expect(new Set(shared.map((t) => t.pid))).toEqual(new Set([a.child.pid]));
    expect((await records('startup')).map((s) => s.pid)).toEqual([a.child.pid]);

    await a.stop();
    await until(async () => (await records('tick')).some((t) => t.pid === b.child.pid), 'a tick from the second instance');
    await until(async () => (await records('tick')).filter((t) => t.pid === b.child.pid).length >= 2, 'two ticks from the second instance');
    expectNoOverlap(await records('tick'));
    // The listener starts on the new holder, so runOnStartup runs there, as in the host.
    expect((await records('startup')).map((s) => s.pid)).toEqual([a.child.pid, b.child.pid]);
  });

  it('invokes a monitored timer immediately with isPastDue when an occurrence was missed', async () => {
    const hosts = BlobServiceClient.fromConnectionString(app.azurite.connectionString).getContainerClient('azure-webjobs-hosts');
    await hosts.createIfNotExists();
    const hour = 3_600_000;
    const last = new Date(Math.floor(Date.now() / hour) * hour - 2 * hour);
    const missed = new Date(last.getTime() + hour);
    const status = JSON.stringify({ Last: last.toISOString(), Next: missed.toISOString(), LastUpdated: last.toISOString() });
    const blob = hosts.getBlockBlobClient('timers/cipherflow-local/Host.Functions.hourly/status');
    await blob.upload(status, Buffer.byteLength(status));

    await start();
    await until(async () => (await records('hourly')).length >= 1, 'past-due invocation');
    const [entry] = await records('hourly');
    expect(entry?.timer.isPastDue).toBe(true);
    expect(Date.parse(entry?.timer.scheduleStatus?.next ?? '')).toBe(missed.getTime());

    await until(async () => {
      const saved = JSON.parse((await blob.downloadToBuffer()).toString('utf8')) as { Next: string };
      return Date.parse(saved.Next) > Date.now();
    }, 'status moved to the next hour');
  });
});

function expectNoOverlap(entries: Entry[]): void {
  const sorted = [...entries].sort((x, y) => x.start - y.start);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const cur = sorted[i];
    if (prev === undefined || cur === undefined) continue;
    expect(cur.start).toBeGreaterThanOrEqual(prev.end);
  }
}
