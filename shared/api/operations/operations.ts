/** Operating the service: its health. (The OpenAPI document is served from `index.ts`, beside the list it describes.) */
import type { AppServices } from '../../app/services.js';
import { defineOperation } from '../../http/operation.js';
import * as R from '../openapi/response-schemas.js';

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
    const report = await services.health(log);
    return { status: report.status === 'ok' ? 200 : 503, json: report };
  },
});
