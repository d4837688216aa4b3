import { listConnectionsOperation } from '../shared/api/operations/connections.js';
import { registerHttp } from './lib/register.js';

/** `GET /data/foundation/flowservice/connections` → `{ items }`: the sandbox's base connections, without secrets. */
registerHttp(listConnectionsOperation);
