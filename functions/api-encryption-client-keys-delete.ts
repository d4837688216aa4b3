import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { parseClientKeyId } from '../shared/hpke/client-keys.js';
import { deleteClientKeyChecked } from '../shared/hpke/encryption-settings.js';
import { hpkeServices } from '../shared/hpke/hpke-services.js';
import { appPipeline } from '../shared/http/app-pipeline.js';

/**
 * `DELETE /api-encryption/client-keys/{keyId}` → 204; the id takes a new key only after the drain
 * delay. Not the last key while the org requires encryption (HPKE_CLIENT_KEY_REQUIRED).
 */
export async function deleteApiEncryptionClientKey(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(req, { route: 'api-encryption-client-keys-delete', auth: 'required', orgWide: true, invocationId: ctx.invocationId }, async ({ tenant }) => {
    const keyId = parseClientKeyId(req.params.keyId ?? '');
    await deleteClientKeyChecked(await hpkeServices(appServices), tenant.orgId, keyId);
    return { status: 204 };
  });
}

app.http('api-encryption-client-keys-delete', {
  methods: ['DELETE'],
  route: 'api-encryption/client-keys/{keyId}',
  authLevel: 'anonymous',
  handler: deleteApiEncryptionClientKey,
});
