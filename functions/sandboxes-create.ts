import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { appPipeline } from '../shared/http/app-pipeline.js';
import { createSandbox, CreateSandboxRequest } from '../shared/sandboxes/sandboxes.js';

/** `POST /data/foundation/sandbox-management/sandboxes` `{name, title, type}` → 201 with the sandbox; 409 when the name is taken. */
export async function createSandboxFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(
    req,
    { route: 'sandboxes-create', auth: 'required', orgWide: true, schema: CreateSandboxRequest, invocationId: ctx.invocationId },
    async ({ tenant, body }) => ({ status: 201, json: await createSandbox((await appServices()).sandboxes, tenant, body) }),
  );
}

app.http('sandboxes-create', {
  methods: ['POST'],
  route: 'data/foundation/sandbox-management/sandboxes',
  authLevel: 'anonymous',
  handler: createSandboxFunction,
});
