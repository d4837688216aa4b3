import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { getFlow } from '../shared/flows/index.js';
import { appPipeline } from '../shared/http/app-pipeline.js';

/** `GET /data/foundation/flowservice/flows/{id}` → `{ items: [flow] }`; a deleted flow shows `state: "deleted"`. */
export async function getFlowFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(
    req,
    { route: 'flows-get', auth: 'required', invocationId: ctx.invocationId },
    async ({ tenant }) => ({
      json: { items: [await getFlow(await appServices(), tenant, req.params.id ?? '')] },
    }),
  );
}

app.http('flows-get', {
  methods: ['GET'],
  route: 'data/foundation/flowservice/flows/{id}',
  authLevel: 'anonymous',
  handler: getFlowFunction,
});
