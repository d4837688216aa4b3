import { rotateHpkeKeysJob } from '../shared/jobs/hpke.js';
import { registerTimer } from './lib/register.js';

/**
 * Keeps our HPKE key set current (`HPKE_ROTATE_SCHEDULE`, hourly; also at start-up so a new
 * deployment has a key): creates the first key, publishes each successor 30 days ahead, drops
 * keys past their grace, and purges the replay cache.
 */
registerTimer(rotateHpkeKeysJob);
