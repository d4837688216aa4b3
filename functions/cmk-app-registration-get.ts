import { getCmkAppRegistrationOperation } from '../shared/api/operations/cmk.js';
import { registerHttp } from './lib/register.js';

/** `GET /data/infrastructure/manager/byok/app-registration` → our multi-tenant app and its consent URL. */
registerHttp(getCmkAppRegistrationOperation);
