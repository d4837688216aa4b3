import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { dataAccessFilesView, getBatchFiles } from '../shared/catalog/batches.js';
import { appPipeline } from '../shared/http/app-pipeline.js';

/** `GET /data/foundation/export/batches/{batchId}/files` → `{ data: [...], _page }`, the Data Access API's shape. */
export async function listBatchFilesFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(
    req,
    { route: 'batch-files-list', auth: 'required', invocationId: ctx.invocationId },
    async ({ tenant }) => {
      const services = await appServices();
      const files = await getBatchFiles(services, tenant, req.params.batchId ?? '');
      // Never the request's own origin: the host takes it from the Host header, which the caller writes.
      return { json: dataAccessFilesView(files, services.config.publicBaseUrl ?? '') };
    },
  );
}

app.http('batch-files-list', {
  methods: ['GET'],
  route: 'data/foundation/export/batches/{batchId}/files',
  authLevel: 'anonymous',
  handler: listBatchFilesFunction,
});
