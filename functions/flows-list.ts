import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { listFlows } from '../shared/flows/index.js';
import { appPipeline } from '../shared/http/app-pipeline.js';

/** `GET /data/foundation/flowservice/flows` → `{ items: [...] }`, the tenant's flows that are not deleted. */
export async function listFlowsFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(
    req,
    { route: 'flows-list', auth: 'required', invocationId: ctx.invocationId },
    async ({ tenant }) => ({
      json: { items: await listFlows(await appServices(), tenant) },
    }),
  );
}

app.http('flows-list', {
  methods: ['GET'],
  route: 'data/foundation/flowservice/flows',
  authLevel: 'anonymous',
  handler: listFlowsFunction,
});
