import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { CreateSourceConnectionRequest, createSourceConnection } from '../shared/flows/index.js';
import { appPipeline } from '../shared/http/app-pipeline.js';

/** `POST /data/foundation/flowservice/sourceConnections` → 201 `{ id, etag }`, as Adobe's flow service answers. */
export async function createSourceConnectionFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(
    req,
    {
      route: 'source-connections-create',
      auth: 'required',
      schema: CreateSourceConnectionRequest,
      invocationId: ctx.invocationId,
    },
    async ({ tenant, body }) => {
      const { id, etag } = await createSourceConnection(await appServices(), tenant, body);
      return { status: 201, json: { id, etag } };
    },
  );
}

app.http('source-connections-create', {
  methods: ['POST'],
  route: 'data/foundation/flowservice/sourceConnections',
  authLevel: 'anonymous',
  handler: createSourceConnectionFunction,
});
