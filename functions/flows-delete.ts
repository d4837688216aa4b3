import { deleteFlowOperation } from '../shared/api/operations/flows.js';
import { registerHttp } from './lib/register.js';

/** `DELETE /data/foundation/flowservice/flows/{id}` → 204; the flow stops matching new files, its runs stay readable. */
registerHttp(deleteFlowOperation);
