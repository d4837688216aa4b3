import { getCmkConfigOperation } from '../shared/api/operations/cmk.js';
import { registerHttp } from './lib/register.js';

/** `GET /data/infrastructure/manager/customer/config/{name}?configType=BYOK_CONFIG` → status, reason, history. */
registerHttp(getCmkConfigOperation);
