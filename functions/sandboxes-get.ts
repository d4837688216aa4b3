import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { appPipeline } from '../shared/http/app-pipeline.js';
import { getSandbox } from '../shared/sandboxes/sandboxes.js';

/** `GET /data/foundation/sandbox-management/sandboxes/{name}` → the sandbox; 404 `SANDBOX_NOT_FOUND`. */
export async function getSandboxFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(req, { route: 'sandboxes-get', auth: 'required', invocationId: ctx.invocationId }, async ({ tenant }) => ({
    json: await getSandbox((await appServices()).sandboxes, tenant.orgId, req.params.name ?? ''),
  }));
}

app.http('sandboxes-get', {
  methods: ['GET'],
  route: 'data/foundation/sandbox-management/sandboxes/{name}',
  authLevel: 'anonymous',
  handler: getSandboxFunction,
});
