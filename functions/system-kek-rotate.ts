import { app, type InvocationContext, type Timer } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { triggerSettings } from '../shared/trigger-settings.js';
import { systemClock } from '../shared/core/clock.js';
import { followSystemKekRotation } from '../shared/vault/follow-system-kek.js';

/**
 * Follows a rotation of our system KEK (`SYSTEM_KEK_ROTATE_SCHEDULE`, hourly; not at start-up, which
 * would scan the root keys on every scale-out):
 * root keys under an older version of the system key are re-wrapped under its current version, so
 * an operator can disable the old version once a run has settled. Customer-key orgs are left to
 * the CMK reconciler. The host runs one listener at a time; the re-wrap's conditional writes make
 * a second one harmless anyway.
 */
export async function rotateSystemKek(_timer: Timer, ctx: InvocationContext): Promise<void> {
  const services = await appServices();
  // The hierarchy's own resolution: created when absent in local mode (once per process), only named in production.
  const systemKek = await services.systemKek();
  const result = await followSystemKekRotation({
    rootKeys: services.cmk.rootKeys,
    vault: services.cmk.vault,
    readKey: services.cmk.readKey,
    clock: systemClock,
    systemKek,
  });
  ctx.log(JSON.stringify({ event: 'system-kek-followed', ...result }));
}

app.timer('system-kek-rotate', {
  schedule: triggerSettings().systemKekRotateSchedule,
  runOnStartup: false,
  handler: rotateSystemKek,
});
