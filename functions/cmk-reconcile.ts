import { reconcileCmkJob } from '../shared/jobs/cmk.js';
import { registerTimer } from './lib/register.js';

/**
 * Advances every BYOK config one durable step at a time and watches the orgs that use a customer
 * key (`CMK_RECONCILE_SCHEDULE`, every minute by default). The host runs one listener at a time;
 * the reconciler's conditional writes make a second one harmless anyway.
 */
registerTimer(reconcileCmkJob);
