import { getTargetConnectionOperation } from '../shared/api/operations/flows.js';
import { registerHttp } from './lib/register.js';

/** `GET /data/foundation/flowservice/targetConnections/{id}` → `{ items: [connection] }`, the flow service's list wrapper. */
registerHttp(getTargetConnectionOperation);
