import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { appPipeline } from '../shared/http/app-pipeline.js';
import { getEncryptionKey } from '../shared/pgp-keys/encryption-keys.js';
import { pgpKeyDeps } from '../shared/pgp-keys/key-deps.js';

/** `GET .../encryption/keys/validate/{publicKeyId}` → `{ publicKeyId, status: "Active" | "Expired" }`. */
export async function validateEncryptionKeyFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(req, { route: 'encryption-keys-validate', auth: 'required', invocationId: ctx.invocationId }, async ({ tenant }) => {
    const key = await getEncryptionKey(pgpKeyDeps(await appServices()), tenant, req.params.publicKeyId ?? '');
    return { json: { publicKeyId: key.publicKeyId, status: key.status } };
  });
}

app.http('encryption-keys-validate', {
  methods: ['GET'],
  route: 'data/foundation/connectors/encryption/keys/validate/{publicKeyId}',
  authLevel: 'anonymous',
  handler: validateEncryptionKeyFunction,
});
