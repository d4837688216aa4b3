/** API payload encryption: the server keys' lifecycle. */
import type { AppServices } from '../app/services.js';
import { rotateServerKeys } from '../hpke/server-keys.js';
import type { TimerJob } from './job.js';

/** Registered and described by `functions/hpke-keys-rotate.ts`. */
export const rotateHpkeKeysJob: TimerJob<AppServices> = {
  name: 'hpke-keys-rotate',
  schedule: (t) => t.hpkeRotateSchedule,
  runOnStartup: true,
  async run(services, log) {
    const hpke = services.hpke;
    const result = await rotateServerKeys(hpke.serverKeys, hpke.lifetimeMs);
    hpke.ring.invalidate();
    const purged = await hpke.replay.purge(hpke.clock.now());
    if (result.created !== undefined || result.dropped.length > 0) log('hpke-keys-rotated', { ...result, purged });
  },
};
