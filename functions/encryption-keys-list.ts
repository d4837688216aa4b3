import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { appPipeline } from '../shared/http/app-pipeline.js';
import { listEncryptionKeys } from '../shared/pgp-keys/encryption-keys.js';
import { pgpKeyDeps } from '../shared/pgp-keys/key-deps.js';

/** `GET .../encryption/keys` → the sandbox's keys (public parts only). */
export async function listEncryptionKeysFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(req, { route: 'encryption-keys-list', auth: 'required', invocationId: ctx.invocationId }, async ({ tenant }) => ({
    json: await listEncryptionKeys(pgpKeyDeps(await appServices()), tenant),
  }));
}

app.http('encryption-keys-list', {
  methods: ['GET'],
  route: 'data/foundation/connectors/encryption/keys',
  authLevel: 'anonymous',
  handler: listEncryptionKeysFunction,
});
