import { describe, expect, it } from 'vitest';
import { loadConfigPart } from '../../shared/config/app-config.js';

describe('trigger settings', () => {
  it('defaults to the landing-events queue, an hourly landing TTL, a one-minute reconciler, hourly HPKE and system KEK rotations and a 15 s retry of parked files and check of due scheduled runs', () => {
    expect(loadConfigPart('triggers', {})).toEqual({
      landingEventsQueue: 'landing-events',
      landingTtlSchedule: '0 30 * * * *',
      cmkReconcileSchedule: '0 */1 * * * *',
      hpkeRotateSchedule: '0 5 * * * *',
      systemKekRotateSchedule: '0 0 * * * *',
      ingestRetrySchedule: '*/15 * * * * *',
      flowScheduleSchedule: '*/15 * * * * *',
      maxFileBytes: 1024 ** 3,
      maxCompressionRatio: 250,
      maxSessionKeyPackets: 16,
    });
  });

  it('takes app settings over the defaults', () => {
    expect(
      loadConfigPart('triggers', {
        LANDING_EVENTS_QUEUE: 'blob-created',
        LANDING_TTL_SCHEDULE: '0 0 */6 * * *',
        CMK_RECONCILE_SCHEDULE: '*/10 * * * * *',
        SYSTEM_KEK_ROTATE_SCHEDULE: '0 30 2 * * *',
      }),
    ).toMatchObject({
      landingEventsQueue: 'blob-created',
      landingTtlSchedule: '0 0 */6 * * *',
      cmkReconcileSchedule: '*/10 * * * * *',
      systemKekRotateSchedule: '0 30 2 * * *',
    });
  });

  it('no longer reads LANDING_CONTAINER: tenancy comes from each landing zone', () => {
    expect(loadConfigPart('triggers', { LANDING_CONTAINER: 'Bad_Name' })).not.toHaveProperty('landingContainer');
  });

  it('refuses a malformed queue name or schedule, naming the setting', () => {
    expect(() => loadConfigPart('triggers', { LANDING_EVENTS_QUEUE: 'Bad_Name' })).toThrow(/LANDING_EVENTS_QUEUE/);
    expect(() => loadConfigPart('triggers', { LANDING_EVENTS_QUEUE: 'a--b' })).toThrow(/LANDING_EVENTS_QUEUE/);
    expect(() => loadConfigPart('triggers', { LANDING_TTL_SCHEDULE: 'hourly' })).toThrow(/LANDING_TTL_SCHEDULE/);
    expect(() => loadConfigPart('triggers', { HPKE_ROTATE_SCHEDULE: '* * * * *' })).toThrow(/HPKE_ROTATE_SCHEDULE/);
    expect(() => loadConfigPart('triggers', { INGEST_RETRY_SCHEDULE: 'soon' })).toThrow(/INGEST_RETRY_SCHEDULE/);
    expect(() => loadConfigPart('triggers', { SYSTEM_KEK_ROTATE_SCHEDULE: '@hourly' })).toThrow(/SYSTEM_KEK_ROTATE_SCHEDULE/);
  });

  it('reads MAX_FILE_BYTES as a whole number of bytes', () => {
    expect(loadConfigPart('triggers', { MAX_FILE_BYTES: '1048576' }).maxFileBytes).toBe(1_048_576);
    expect(loadConfigPart('triggers', { MAX_FILE_BYTES: ' 5368709120 ' }).maxFileBytes).toBe(5 * 1024 ** 3);
    expect(loadConfigPart('triggers', { MAX_FILE_BYTES: String(Number.MAX_SAFE_INTEGER) }).maxFileBytes).toBe(Number.MAX_SAFE_INTEGER);
  });

  it.each([
    ['zero', '0'],
    ['negative', '-1'],
    ['empty', ''],
    ['fractional', '1.5'],
    ['exponent', '1e9'],
    ['hexadecimal', '0x100000'],
    ['a unit', '1GiB'],
    ['beyond 2^53 - 1', '9007199254740993'],
  ])('refuses a %s MAX_FILE_BYTES, naming the setting', (_label, value) => {
    expect(() => loadConfigPart('triggers', { MAX_FILE_BYTES: value })).toThrow(/Invalid configuration: MAX_FILE_BYTES: must be/);
  });

  it('reads MAX_PKESK_PER_MESSAGE as a whole number from 1 to 999, and refuses anything else naming the setting', () => {
    expect(loadConfigPart('triggers', { MAX_PKESK_PER_MESSAGE: '4' }).maxSessionKeyPackets).toBe(4);
    for (const value of ['0', '-1', '1000', '1.5', 'x', '']) {
      expect(() => loadConfigPart('triggers', { MAX_PKESK_PER_MESSAGE: value }), value).toThrow(/Invalid configuration: MAX_PKESK_PER_MESSAGE: must be/);
    }
  });

  it('reads MAX_COMPRESSION_RATIO as a whole number, and refuses anything else naming the setting', () => {
    expect(loadConfigPart('triggers', { MAX_COMPRESSION_RATIO: '100' }).maxCompressionRatio).toBe(100);
    expect(loadConfigPart('triggers', { MAX_COMPRESSION_RATIO: ' 1000 ' }).maxCompressionRatio).toBe(1000);
    for (const value of ['0', '-5', '', '2.5', '1e3', 'off', '1000000000']) {
      expect(() => loadConfigPart('triggers', { MAX_COMPRESSION_RATIO: value }), value).toThrow(/Invalid configuration: MAX_COMPRESSION_RATIO: must be/);
    }
  });
});
