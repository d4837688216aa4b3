import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { getFile } from '../shared/catalog/batches.js';
import { appPipeline } from '../shared/http/app-pipeline.js';

/**
 * `GET /data/foundation/export/files/{fileId}` streams a committed file's plaintext, decrypted
 * from its at-rest envelope as it is sent (never buffered whole).
 */
export async function exportFileFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(req, { route: 'export-files-get', auth: 'required', invocationId: ctx.invocationId }, async ({ tenant }) => {
    const services = await appServices();
    const file = await getFile(services, tenant, req.params.fileId ?? '');
    const body = await services.objects.get(tenant, file.objectId);
    return {
      headers: {
        'content-type': file.contentType,
        'content-length': String(file.sizeBytes),
        'content-disposition': `attachment; filename="${file.name.replace(/["\\\r\n]/g, '_')}"`,
      },
      body,
    };
  });
}

app.http('export-files-get', {
  methods: ['GET'],
  route: 'data/foundation/export/files/{fileId}',
  authLevel: 'anonymous',
  handler: exportFileFunction,
});
