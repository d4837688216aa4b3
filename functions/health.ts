import { healthOperation } from '../shared/api/operations/operations.js';
import { registerHttp } from './lib/register.js';

/**
 * Reports whether storage and the system Key Vault answer: 200 when both do, 503 otherwise. The
 * answer comes from this instance's last probe, at most `HEALTH_PROBE_SECONDS` old.
 */
registerHttp(healthOperation);
