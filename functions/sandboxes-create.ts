import { createSandboxOperation } from '../shared/api/operations/sandboxes.js';
import { registerHttp } from './lib/register.js';

/** `POST /data/foundation/sandbox-management/sandboxes` `{name, title, type}` → 201 with the sandbox; 409 when the name is taken. */
registerHttp(createSandboxOperation);
