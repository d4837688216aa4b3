import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { checkHealth } from '../shared/health/check-health.js';
import { appPipeline } from '../shared/http/app-pipeline.js';

/** Reports whether storage and the system Key Vault answer: 200 when both do, 503 otherwise. */
export async function health(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(req, { route: 'health', auth: 'none', invocationId: ctx.invocationId }, async () => {
    const { config, clients } = await appServices();
    const report = await checkHealth({ blobs: clients.blobs, vault: clients.keys(config.systemKeyVaultUrl) });
    return { status: report.status === 'ok' ? 200 : 503, json: report };
  });
}

app.http('health', { methods: ['GET'], route: 'health', authLevel: 'anonymous', handler: health });
