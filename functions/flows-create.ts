import { createFlowOperation } from '../shared/api/operations/flows.js';
import { registerHttp } from './lib/register.js';

/** `POST /data/foundation/flowservice/flows` → 201 `{ id, etag }`; the flow picks up files as they land. */
registerHttp(createFlowOperation);
