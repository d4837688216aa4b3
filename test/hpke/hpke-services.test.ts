import { describe, expect, it } from 'vitest';
import { loadConfigPart } from '../../shared/config/app-config.js';
import { ConfigError } from '../../shared/config/config-error.js';
import { SETTINGS } from '../../shared/config/settings.js';
import { NEXT_LEAD_MS } from '../../shared/hpke/key-lifecycle.js';

const DAY = 86_400_000;

describe('HPKE_KEY_LIFETIME_DAYS', () => {
  it('defaults to 365 days when unset', () => {
    expect(SETTINGS.HPKE_KEY_LIFETIME_DAYS.default).toBe('365');
    expect(loadConfigPart('hpke', {}).keyLifetimeMs).toBe(365 * DAY);
  });

  it('takes whole days from 31 (a successor is announced 30 days ahead) to 3650', () => {
    expect(NEXT_LEAD_MS).toBe(30 * DAY);
    expect(loadConfigPart('hpke', { HPKE_KEY_LIFETIME_DAYS: '31' }).keyLifetimeMs).toBe(31 * DAY);
    expect(loadConfigPart('hpke', { HPKE_KEY_LIFETIME_DAYS: '90' }).keyLifetimeMs).toBe(90 * DAY);
    expect(loadConfigPart('hpke', { HPKE_KEY_LIFETIME_DAYS: '3650' }).keyLifetimeMs).toBe(3650 * DAY);
  });

  it.each(['30', '0', '-5', '3651', '365.5', 'a year'])('stops the start with a ConfigError naming the setting for %j', (value) => {
    expect(() => loadConfigPart('hpke', { HPKE_KEY_LIFETIME_DAYS: value }).keyLifetimeMs).toThrow(ConfigError);
    expect(() => loadConfigPart('hpke', { HPKE_KEY_LIFETIME_DAYS: value }).keyLifetimeMs).toThrow(/HPKE_KEY_LIFETIME_DAYS/);
  });
});
