import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/config.js';
import { parseHpkeLifetimeMs } from '../../shared/hpke/hpke-services.js';
import { DEFAULT_KEY_LIFETIME_DAYS, NEXT_LEAD_MS } from '../../shared/hpke/key-lifecycle.js';

const DAY = 86_400_000;

describe('HPKE_KEY_LIFETIME_DAYS', () => {
  it('defaults to 365 days when unset', () => {
    expect(DEFAULT_KEY_LIFETIME_DAYS).toBe(365);
    expect(parseHpkeLifetimeMs({})).toBe(365 * DAY);
  });

  it('takes whole days from 31 (a successor is announced 30 days ahead) to 3650', () => {
    expect(NEXT_LEAD_MS).toBe(30 * DAY);
    expect(parseHpkeLifetimeMs({ HPKE_KEY_LIFETIME_DAYS: '31' })).toBe(31 * DAY);
    expect(parseHpkeLifetimeMs({ HPKE_KEY_LIFETIME_DAYS: '90' })).toBe(90 * DAY);
    expect(parseHpkeLifetimeMs({ HPKE_KEY_LIFETIME_DAYS: '3650' })).toBe(3650 * DAY);
  });

  it.each(['30', '0', '-5', '3651', '365.5', 'a year'])('stops the start with a ConfigError naming the setting for %j', (value) => {
    expect(() => parseHpkeLifetimeMs({ HPKE_KEY_LIFETIME_DAYS: value })).toThrow(ConfigError);
    expect(() => parseHpkeLifetimeMs({ HPKE_KEY_LIFETIME_DAYS: value })).toThrow(/HPKE_KEY_LIFETIME_DAYS/);
  });
});
