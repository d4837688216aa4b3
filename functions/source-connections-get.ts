import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { getSourceConnection } from '../shared/flows/index.js';
import { appPipeline } from '../shared/http/app-pipeline.js';

/** `GET /data/foundation/flowservice/sourceConnections/{id}` → `{ items: [connection] }`, the flow service's list wrapper. */
export async function getSourceConnectionFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(
    req,
    { route: 'source-connections-get', auth: 'required', invocationId: ctx.invocationId },
    async ({ tenant }) => ({
      json: { items: [await getSourceConnection(await appServices(), tenant, req.params.id ?? '')] },
    }),
  );
}

app.http('source-connections-get', {
  methods: ['GET'],
  route: 'data/foundation/flowservice/sourceConnections/{id}',
  authLevel: 'anonymous',
  handler: getSourceConnectionFunction,
});
