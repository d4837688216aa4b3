import { deleteCmkConfigOperation } from '../shared/api/operations/cmk.js';
import { registerHttp } from './lib/register.js';

/**
 * `DELETE /data/infrastructure/manager/customer/config/{name}?configType=BYOK_CONFIG` → 204 for a
 * config that never took effect (NEW, RUNNING, FAILED); 409 CMK_IRREVERSIBLE once the org's key
 * state names its key (no way back to system keys).
 */
registerHttp(deleteCmkConfigOperation);
