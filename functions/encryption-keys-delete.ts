import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { appPipeline } from '../shared/http/app-pipeline.js';
import { deleteEncryptionKey } from '../shared/pgp-keys/encryption-keys.js';
import { pgpKeyDeps } from '../shared/pgp-keys/key-deps.js';

/** `DELETE .../encryption/keys/{publicKeyId}` → 204; 409 `KEY_IN_USE` while an active flow uses it. */
export async function deleteEncryptionKeyFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(req, { route: 'encryption-keys-delete', auth: 'required', invocationId: ctx.invocationId }, async ({ tenant }) => {
    await deleteEncryptionKey(pgpKeyDeps(await appServices()), tenant, req.params.publicKeyId ?? '');
    return { status: 204 };
  });
}

app.http('encryption-keys-delete', {
  methods: ['DELETE'],
  route: 'data/foundation/connectors/encryption/keys/{publicKeyId}',
  authLevel: 'anonymous',
  handler: deleteEncryptionKeyFunction,
});
