import { listSandboxesOperation } from '../shared/api/operations/sandboxes.js';
import { registerHttp } from './lib/register.js';

/** `GET /data/foundation/sandbox-management/sandboxes?limit=&offset=` → Adobe's `{ sandboxes, _page, _links }`. */
registerHttp(listSandboxesOperation);
