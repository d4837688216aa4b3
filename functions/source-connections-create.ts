import { createSourceConnectionOperation } from '../shared/api/operations/flows.js';
import { registerHttp } from './lib/register.js';

/** `POST /data/foundation/flowservice/sourceConnections` → 201 `{ id, etag }`, as Adobe's flow service answers. */
registerHttp(createSourceConnectionOperation);
