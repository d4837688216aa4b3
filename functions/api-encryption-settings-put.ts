import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { putEncryptionSettings } from '../shared/hpke/encryption-settings.js';
import { hpkeServices } from '../shared/hpke/hpke-services.js';
import { PutEncryptionSettingsRequest } from '../shared/hpke/org-settings.js';
import { appPipeline } from '../shared/http/app-pipeline.js';

/** `PUT /api-encryption/settings` `{ requireEncryption }` → the org's settings (our extension); requiring encryption needs a client key. */
export async function putApiEncryptionSettings(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(
    req,
    { route: 'api-encryption-settings-put', auth: 'required', orgWide: true, schema: PutEncryptionSettingsRequest, invocationId: ctx.invocationId },
    async ({ tenant, body }) => ({ json: await putEncryptionSettings(await hpkeServices(appServices), tenant.orgId, body) }),
  );
}

app.http('api-encryption-settings-put', {
  methods: ['PUT'],
  route: 'api-encryption/settings',
  authLevel: 'anonymous',
  handler: putApiEncryptionSettings,
});
