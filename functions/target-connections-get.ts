import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { getTargetConnection } from '../shared/flows/index.js';
import { appPipeline } from '../shared/http/app-pipeline.js';

/** `GET /data/foundation/flowservice/targetConnections/{id}` → `{ items: [connection] }`, the flow service's list wrapper. */
export async function getTargetConnectionFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(
    req,
    { route: 'target-connections-get', auth: 'required', invocationId: ctx.invocationId },
    async ({ tenant }) => ({
      json: { items: [await getTargetConnection(await appServices(), tenant, req.params.id ?? '')] },
    }),
  );
}

app.http('target-connections-get', {
  methods: ['GET'],
  route: 'data/foundation/flowservice/targetConnections/{id}',
  authLevel: 'anonymous',
  handler: getTargetConnectionFunction,
});
