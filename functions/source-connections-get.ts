import { getSourceConnectionOperation } from '../shared/api/operations/flows.js';
import { registerHttp } from './lib/register.js';

/** `GET /data/foundation/flowservice/sourceConnections/{id}` → `{ items: [connection] }`, the flow service's list wrapper. */
registerHttp(getSourceConnectionOperation);
