import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { CreateDatasetRequest, createDataset } from '../shared/catalog/datasets.js';
import { appPipeline } from '../shared/http/app-pipeline.js';

/** `POST /data/foundation/catalog/dataSets` → 201 `["@/dataSets/{id}"]`, as Adobe's Catalog answers. */
export async function createDatasetFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(
    req,
    { route: 'datasets-create', auth: 'required', schema: CreateDatasetRequest, invocationId: ctx.invocationId },
    async ({ tenant, body }) => {
      const dataset = await createDataset(await appServices(), tenant, body);
      return { status: 201, json: [`@/dataSets/${dataset.id}`] };
    },
  );
}

app.http('datasets-create', {
  methods: ['POST'],
  route: 'data/foundation/catalog/dataSets',
  authLevel: 'anonymous',
  handler: createDatasetFunction,
});
