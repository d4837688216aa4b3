import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { getDataset } from '../shared/catalog/datasets.js';
import { appPipeline } from '../shared/http/app-pipeline.js';

/** `GET /data/foundation/catalog/dataSets/{id}` → `{ "<id>": { ...dataset } }`, Catalog's shape. */
export async function getDatasetFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(req, { route: 'datasets-get', auth: 'required', invocationId: ctx.invocationId }, async ({ tenant }) => {
    const { id, ...dataset } = await getDataset(await appServices(), tenant, req.params.id ?? '');
    return { json: { [id]: dataset } };
  });
}

app.http('datasets-get', {
  methods: ['GET'],
  route: 'data/foundation/catalog/dataSets/{id}',
  authLevel: 'anonymous',
  handler: getDatasetFunction,
});
