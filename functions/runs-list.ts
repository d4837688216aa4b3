import { listRunsOperation } from '../shared/api/operations/flows.js';
import { registerHttp } from './lib/register.js';

/** `GET /data/foundation/flowservice/runs?property=flowId=={id}` → `{ items: [runs] }`, newest first, one per file. */
registerHttp(listRunsOperation);
