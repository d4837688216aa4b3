import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { listRuns, parseRunsQuery } from '../shared/flows/index.js';
import { appPipeline } from '../shared/http/app-pipeline.js';

/** `GET /data/foundation/flowservice/runs?property=flowId=={id}` → `{ items: [runs] }`, newest first, one per file. */
export async function listRunsFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(
    req,
    { route: 'runs-list', auth: 'required', invocationId: ctx.invocationId },
    async ({ tenant }) => {
      const { flowId } = parseRunsQuery(req.query);
      return { json: { items: await listRuns(await appServices(), tenant, flowId) } };
    },
  );
}

app.http('runs-list', {
  methods: ['GET'],
  route: 'data/foundation/flowservice/runs',
  authLevel: 'anonymous',
  handler: listRunsFunction,
});
