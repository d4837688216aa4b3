import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { appPipeline, sandboxGate } from '../shared/http/app-pipeline.js';
import { deleteSandbox } from '../shared/sandboxes/sandboxes.js';

/**
 * `DELETE /data/foundation/sandbox-management/sandboxes/{name}` → the sandbox with `state: "deleted"`,
 * as Adobe answers; only an empty development sandbox (409 `SANDBOX_NOT_EMPTY` / `SANDBOX_NOT_DELETABLE`).
 */
export async function deleteSandboxFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(req, { route: 'sandboxes-delete', auth: 'required', orgWide: true, invocationId: ctx.invocationId }, async ({ tenant }) => {
    const deleted = await deleteSandbox((await appServices()).sandboxes, tenant.orgId, req.params.name ?? '');
    sandboxGate().forget({ orgId: tenant.orgId, sandbox: deleted.name });
    return { json: deleted };
  });
}

app.http('sandboxes-delete', {
  methods: ['DELETE'],
  route: 'data/foundation/sandbox-management/sandboxes/{name}',
  authLevel: 'anonymous',
  handler: deleteSandboxFunction,
});
