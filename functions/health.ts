import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { azureClients } from '../shared/azure/clients.js';
import { appConfig } from '../shared/config.js';
import { checkHealth } from '../shared/health/check-health.js';

/** Reports whether storage and the system Key Vault answer: 200 when both do, 503 otherwise. */
export async function health(_req: HttpRequest, _ctx: InvocationContext): Promise<HttpResponseInit> {
  const config = appConfig();
  const clients = azureClients(config);
  const report = await checkHealth({ blobs: clients.blobs, vault: clients.keys(config.systemKeyVaultUrl) });
  return {
    status: report.status === 'ok' ? 200 : 503,
    jsonBody: report,
    headers: { 'cache-control': 'no-store' },
  };
}

app.http('health', { methods: ['GET'], route: 'health', authLevel: 'anonymous', handler: health });
