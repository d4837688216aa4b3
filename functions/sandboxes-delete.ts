import { deleteSandboxOperation } from '../shared/api/operations/sandboxes.js';
import { registerHttp } from './lib/register.js';

/**
 * `DELETE /data/foundation/sandbox-management/sandboxes/{name}` → the sandbox with `state: "deleted"`,
 * as Adobe answers; only an empty development sandbox (409 `SANDBOX_NOT_EMPTY` / `SANDBOX_NOT_DELETABLE`).
 */
registerHttp(deleteSandboxOperation);
