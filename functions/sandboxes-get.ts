import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { maySeeSandbox } from '../shared/auth/tenant.js';
import { ForbiddenSandboxError } from '../shared/errors.js';
import { appServices } from '../shared/azure/app-services.js';
import { appPipeline } from '../shared/http/app-pipeline.js';
import { getSandbox } from '../shared/sandboxes/sandboxes.js';

/** `GET /data/foundation/sandbox-management/sandboxes/{name}` → the sandbox; 404 `SANDBOX_NOT_FOUND`. */
export async function getSandboxFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(req, { route: 'sandboxes-get', auth: 'required', invocationId: ctx.invocationId }, async ({ tenant }) => {
    const name = req.params.name ?? '';
    if (!maySeeSandbox(tenant, name)) throw new ForbiddenSandboxError();
    return { json: await getSandbox((await appServices()).sandboxes, tenant.orgId, name) };
  });
}

app.http('sandboxes-get', {
  methods: ['GET'],
  route: 'data/foundation/sandbox-management/sandboxes/{name}',
  authLevel: 'anonymous',
  handler: getSandboxFunction,
});
