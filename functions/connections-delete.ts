import { deleteConnectionOperation } from '../shared/api/operations/connections.js';
import { registerHttp } from './lib/register.js';

/** `DELETE /data/foundation/flowservice/connections/{id}` → 204; refused with 409 CONNECTION_IN_USE while a dataflow reads through it. */
registerHttp(deleteConnectionOperation);
