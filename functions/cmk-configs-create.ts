import { createCmkConfigOperation } from '../shared/api/operations/cmk.js';
import { registerHttp } from './lib/register.js';

/** `POST /data/infrastructure/manager/customer/config` → 200 `{ id, config: {..., status: "NEW"}, status: "CREATED" }`. */
registerHttp(createCmkConfigOperation);
