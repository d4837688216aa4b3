import { listFlowsOperation } from '../shared/api/operations/flows.js';
import { registerHttp } from './lib/register.js';

/** `GET /data/foundation/flowservice/flows` → `{ items: [...] }`, the tenant's flows that are not deleted. */
registerHttp(listFlowsOperation);
