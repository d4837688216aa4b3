import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { catalogBatchView, listBatches, parseBatchListQuery } from '../shared/catalog/batches.js';
import { appPipeline } from '../shared/http/app-pipeline.js';

/** `GET /data/foundation/catalog/batches?dataSet={id}` → `{ "<batchId>": { ...batch } }`, Catalog's shape. */
export async function listBatchesFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(
    req,
    { route: 'batches-list', auth: 'required', invocationId: ctx.invocationId },
    async ({ tenant }) => {
      const { dataSetId } = parseBatchListQuery(req.query);
      const batches = await listBatches(await appServices(), tenant, dataSetId);
      return { json: Object.fromEntries(batches.map((b) => [b.id, catalogBatchView(b)])) };
    },
  );
}

app.http('batches-list', {
  methods: ['GET'],
  route: 'data/foundation/catalog/batches',
  authLevel: 'anonymous',
  handler: listBatchesFunction,
});
