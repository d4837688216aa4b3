import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { appPipeline } from '../shared/http/app-pipeline.js';
import { getEncryptionKey } from '../shared/pgp-keys/encryption-keys.js';
import { pgpKeyDeps } from '../shared/pgp-keys/key-deps.js';

/** `GET .../encryption/keys/{publicKeyId}` → one key (public parts only). */
export async function getEncryptionKeyFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(req, { route: 'encryption-keys-get', auth: 'required', invocationId: ctx.invocationId }, async ({ tenant }) => ({
    json: await getEncryptionKey(pgpKeyDeps(await appServices()), tenant, req.params.publicKeyId ?? ''),
  }));
}

app.http('encryption-keys-get', {
  methods: ['GET'],
  route: 'data/foundation/connectors/encryption/keys/{publicKeyId}',
  authLevel: 'anonymous',
  handler: getEncryptionKeyFunction,
});
