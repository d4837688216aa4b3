/** Operating the service: its health. (The OpenAPI document is served from `index.ts`, beside the list it describes.) */
import type { AppServices } from '../../app/services.js';
import { cacheHealthCheck } from '../../health/cached-health-check.js';
import { checkHealth, type HealthCheck } from '../../health/check-health.js';
import { defineOperation } from '../../http/operation.js';
import * as R from '../openapi/response-schemas.js';

let cached: HealthCheck | undefined;

function healthCheck({ config, clients }: AppServices): HealthCheck {
  const vault = clients.keys(config.systemKeyVaultUrl);
  cached ??= cacheHealthCheck((log) => checkHealth({ blobs: clients.blobs, vault, log }), {
    intervalMs: config.healthProbeSeconds * 1000,
  });
  return cached;
}

export const healthOperation = defineOperation({
  operationId: 'health',
  method: 'GET',
  route: 'health',
  summary: 'Whether storage and the system Key Vault answer',
  tag: 'Operations',
  auth: 'none',
  success: [
    { status: 200, description: 'Healthy', schema: R.Health },
    { status: 503, description: 'A dependency is down', schema: R.Health },
  ],
  hpke: false,
  handler: async ({ log }, services: AppServices) => {
    const report = await healthCheck(services)(log);
    return { status: report.status === 'ok' ? 200 : 503, json: report };
  },
});
