import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { deleteFlow } from '../shared/flows/index.js';
import { appPipeline } from '../shared/http/app-pipeline.js';

/** `DELETE /data/foundation/flowservice/flows/{id}` → 204; the flow stops matching new files, its runs stay readable. */
export async function deleteFlowFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(
    req,
    { route: 'flows-delete', auth: 'required', invocationId: ctx.invocationId },
    async ({ tenant }) => {
      await deleteFlow(await appServices(), tenant, req.params.id ?? '');
      return { status: 204 };
    },
  );
}

app.http('flows-delete', {
  methods: ['DELETE'],
  route: 'data/foundation/flowservice/flows/{id}',
  authLevel: 'anonymous',
  handler: deleteFlowFunction,
});
