import { getFlowOperation } from '../shared/api/operations/flows.js';
import { registerHttp } from './lib/register.js';

/** `GET /data/foundation/flowservice/flows/{id}` → `{ items: [flow] }`; a deleted flow shows `state: "deleted"`. */
registerHttp(getFlowOperation);
