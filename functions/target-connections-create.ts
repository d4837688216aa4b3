import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { CreateTargetConnectionRequest, createTargetConnection } from '../shared/flows/index.js';
import { appPipeline } from '../shared/http/app-pipeline.js';

/** `POST /data/foundation/flowservice/targetConnections` → 201 `{ id, etag }`, as Adobe's flow service answers. */
export async function createTargetConnectionFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(
    req,
    {
      route: 'target-connections-create',
      auth: 'required',
      schema: CreateTargetConnectionRequest,
      invocationId: ctx.invocationId,
    },
    async ({ tenant, body }) => {
      const { id, etag } = await createTargetConnection(await appServices(), tenant, body);
      return { status: 201, json: { id, etag } };
    },
  );
}

app.http('target-connections-create', {
  methods: ['POST'],
  route: 'data/foundation/flowservice/targetConnections',
  authLevel: 'anonymous',
  handler: createTargetConnectionFunction,
});
