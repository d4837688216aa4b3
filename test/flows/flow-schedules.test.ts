import { describe, expect, it } from 'vitest';
import { nextRunAfter, scheduleOf } from '../../shared/flows/flow-schedules.js';

const T0 = Date.UTC(2026, 11, 8, 9, 0, 0);

describe('scheduleOf (Adobe scheduleParams)', () => {
  it('reads startTime as epoch seconds, and a 13-digit value as milliseconds', () => {
    expect(scheduleOf({ startTime: String(T0 / 1000), frequency: 'hour', interval: 2 }, 0)).toEqual({ startAt: T0, frequency: 'hour', interval: 2 });
    expect(scheduleOf({ startTime: T0 }, 0).startAt).toBe(T0);
  });

  it('defaults to once, now, every 1', () => {
    expect(scheduleOf(undefined, T0)).toEqual({ startAt: T0, frequency: 'once', interval: 1 });
  });
});

describe('nextRunAfter', () => {
  it('runs a once schedule at its start, then never again', () => {
    const once = { startAt: T0, frequency: 'once', interval: 1 } as const;
    expect(nextRunAfter(once, T0 - 1)).toBe(T0);
    expect(nextRunAfter(once, T0)).toBeUndefined();
  });

  it('steps by frequency times interval from the start', () => {
    const every15 = { startAt: T0, frequency: 'minute', interval: 15 } as const;
    expect(nextRunAfter(every15, T0 - 5)).toBe(T0);
    expect(nextRunAfter(every15, T0)).toBe(T0 + 15 * 60_000);
    expect(nextRunAfter(every15, T0 + 15 * 60_000 - 1)).toBe(T0 + 15 * 60_000);
    expect(nextRunAfter({ startAt: T0, frequency: 'week', interval: 1 }, T0)).toBe(T0 + 7 * 86_400_000);
    expect(nextRunAfter({ startAt: T0, frequency: 'day', interval: 3 }, T0 + 1)).toBe(T0 + 3 * 86_400_000);
  });

  it('does not make up missed runs one by one after an outage: the next slot after now', () => {
    const hourly = { startAt: T0, frequency: 'hour', interval: 1 } as const;
    expect(nextRunAfter(hourly, T0 + 10.5 * 3_600_000)).toBe(T0 + 11 * 3_600_000);
  });
});
