import { getConnectionOperation } from '../shared/api/operations/connections.js';
import { registerHttp } from './lib/register.js';

/** `GET /data/foundation/flowservice/connections/{id}` → `{ items: [connection] }`, without secrets. */
registerHttp(getConnectionOperation);
