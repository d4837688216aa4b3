import { app, type InvocationContext, type Timer } from '@azure/functions';
import './lib/app-setup.js';
import { triggerSettings } from '../shared/trigger-settings.js';
import { appServices } from '../shared/azure/app-services.js';
import { hpkeServices } from '../shared/hpke/hpke-services.js';
import { rotateServerKeys } from '../shared/hpke/server-keys.js';

/**
 * Keeps our HPKE key set current (`HPKE_ROTATE_SCHEDULE`, hourly; also at start-up so a new
 * deployment has a key): creates the first key, publishes each successor 30 days ahead, drops
 * keys past their grace, and purges the replay cache.
 */
export async function rotateHpkeKeys(_timer: Timer, ctx: InvocationContext): Promise<void> {
  const hpke = await hpkeServices(appServices);
  const result = await rotateServerKeys(hpke.serverKeys, hpke.lifetimeMs);
  hpke.ring.invalidate();
  const purged = await hpke.replay.purge(hpke.clock.now());
  if (result.created !== undefined || result.dropped.length > 0) ctx.log(JSON.stringify({ event: 'hpke-keys-rotated', ...result, purged }));
}

app.timer('hpke-keys-rotate', { schedule: triggerSettings().hpkeRotateSchedule, runOnStartup: true, handler: rotateHpkeKeys });
