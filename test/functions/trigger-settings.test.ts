import { describe, expect, it } from 'vitest';
import { triggerSettings } from '../../shared/trigger-settings.js';

describe('trigger settings', () => {
  it('defaults to the landing container, a one-minute reconciler, an hourly rotation and a 15 s retry of parked files', () => {
    expect(triggerSettings({})).toEqual({
      landingContainer: 'landing',
      cmkReconcileSchedule: '0 */1 * * * *',
      hpkeRotateSchedule: '0 5 * * * *',
      ingestRetrySchedule: '*/15 * * * * *',
    });
  });

  it('takes app settings over the defaults', () => {
    expect(triggerSettings({ LANDING_CONTAINER: 'incoming-files', CMK_RECONCILE_SCHEDULE: '*/10 * * * * *' })).toMatchObject({
      landingContainer: 'incoming-files',
      cmkReconcileSchedule: '*/10 * * * * *',
    });
  });

  it('refuses a malformed container name or schedule, naming the setting', () => {
    expect(() => triggerSettings({ LANDING_CONTAINER: 'Bad_Name' })).toThrow(/LANDING_CONTAINER/);
    expect(() => triggerSettings({ HPKE_ROTATE_SCHEDULE: '* * * * *' })).toThrow(/HPKE_ROTATE_SCHEDULE/);
    expect(() => triggerSettings({ INGEST_RETRY_SCHEDULE: 'soon' })).toThrow(/INGEST_RETRY_SCHEDULE/);
  });
});
