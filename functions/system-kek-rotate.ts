import { rotateSystemKekJob } from '../shared/jobs/cmk.js';
import { registerTimer } from './lib/register.js';

/**
 * Follows a rotation of our system KEK (`SYSTEM_KEK_ROTATE_SCHEDULE`, hourly; not at start-up, which
 * would scan the root keys on every scale-out):
 * root keys under an older version of the system key are re-wrapped under its current version, so
 * an operator can disable the old version once a run has settled. Customer-key orgs are left to
 * the CMK reconciler. The host runs one listener at a time; the re-wrap's conditional writes make
 * a second one harmless anyway.
 */
registerTimer(rotateSystemKekJob);
