import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { listClientKeys } from '../shared/hpke/client-keys.js';
import { hpkeServices } from '../shared/hpke/hpke-services.js';
import { appPipeline } from '../shared/http/app-pipeline.js';

/** `GET /api-encryption/client-keys` → `{ keys: [...] }`, the org's keys responses are encrypted to. */
export async function listApiEncryptionClientKeys(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(req, { route: 'api-encryption-client-keys-list', auth: 'required', orgWide: true, invocationId: ctx.invocationId }, async ({ tenant }) => ({
    json: { keys: await listClientKeys((await hpkeServices(appServices)).clientKeys, tenant.orgId) },
  }));
}

app.http('api-encryption-client-keys-list', {
  methods: ['GET'],
  route: 'api-encryption/client-keys',
  authLevel: 'anonymous',
  handler: listApiEncryptionClientKeys,
});
