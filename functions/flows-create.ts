import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { CreateFlowRequest, createFlow, tableKeyCheck } from '../shared/flows/index.js';
import { appPipeline } from '../shared/http/app-pipeline.js';

/** `POST /data/foundation/flowservice/flows` → 201 `{ id, etag }`; the flow picks up files as they land. */
export async function createFlowFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(
    req,
    { route: 'flows-create', auth: 'required', schema: CreateFlowRequest, invocationId: ctx.invocationId },
    async ({ tenant, body }) => {
      const services = await appServices();
      const { id, etag } = await createFlow(services, tenant, body, tableKeyCheck(services.tables));
      return { status: 201, json: { id, etag } };
    },
  );
}

app.http('flows-create', {
  methods: ['POST'],
  route: 'data/foundation/flowservice/flows',
  authLevel: 'anonymous',
  handler: createFlowFunction,
});
