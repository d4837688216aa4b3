import { getSandboxOperation } from '../shared/api/operations/sandboxes.js';
import { registerHttp } from './lib/register.js';

/** `GET /data/foundation/sandbox-management/sandboxes/{name}` → the sandbox; 404 `SANDBOX_NOT_FOUND`. */
registerHttp(getSandboxOperation);
