import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { PutClientKeyRequest, parseClientKeyId, putClientKey } from '../shared/hpke/client-keys.js';
import { hpkeServices } from '../shared/hpke/hpke-services.js';
import { appPipeline } from '../shared/http/app-pipeline.js';

/**
 * `PUT /api-encryption/client-keys/{keyId}` `{ kemId, publicKey }` → 201 (new), 200 (unchanged)
 * or 202 (replacing: `pending.effectiveTime` says when the new key takes over).
 */
export async function putApiEncryptionClientKey(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(
    req,
    { route: 'api-encryption-client-keys-put', auth: 'required', orgWide: true, schema: PutClientKeyRequest, invocationId: ctx.invocationId },
    async ({ tenant, body }) => {
      const keyId = parseClientKeyId(req.params.keyId ?? '');
      const { status, key } = await putClientKey((await hpkeServices(appServices)).clientKeys, tenant.orgId, keyId, body);
      return { status, json: key };
    },
  );
}

app.http('api-encryption-client-keys-put', {
  methods: ['PUT'],
  route: 'api-encryption/client-keys/{keyId}',
  authLevel: 'anonymous',
  handler: putApiEncryptionClientKey,
});
